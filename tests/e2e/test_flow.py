"""One complaint through every real process: gateway → intake → routing → notifications."""

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from intake.schemas import ComplaintCreate
from intake.service import ComplaintService
from services.db import create_engine, create_sessionmaker
from services.embedded import free_port
from services.events.outbox import Publisher
from services.models import Event
from services.principal import ANONYMOUS
from services.queue import create_arq_redis
from services.settings import Settings
from services.uow import unit_of_work
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.receiver import running_receiver

pytestmark = pytest.mark.e2e


def admin(settings: Settings) -> dict[str, str]:
    assert settings.admin_api_key is not None
    return {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"}


async def wait_for_status(
    client: httpx.AsyncClient, tracking_id: str, status: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"still {body.get('status')} after 30 s: {body}")


async def test_a_complaint_flows_through_every_service(
    platform: Platform, settings: Settings
) -> None:
    async with (
        running_receiver() as receiver,
        httpx.AsyncClient(base_url=platform.gateway) as client,
    ):
        endpoint = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": receiver.url, "region_codes": ["11"]},
            headers=admin(settings),
        )
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]
        assert secret.startswith("whsec_")
        # A subscriber of another province hears nothing of this complaint.
        elsewhere = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": receiver.url + "?jawa-barat", "region_codes": ["32"]},
            headers=admin(settings),
        )
        assert elsewhere.status_code == 201

        created = await client.post(
            "/api/v1/complaints", json=complaint_payload(), headers={"Idempotency-Key": "e2e-1"}
        )
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "submitted"
        tracking_id = created.json()["tracking_id"]

        tracked = await wait_for_status(client, tracking_id, "dispositioned")
        # The default rules: infrastructure goes to the Dinas PUPR of the kabupaten/kota.
        assert [a["code"] for a in tracked["agencies"]] == ["pemda-11.01.dinas-pupr"]
        assert [e["type"] for e in tracked["timeline"]] == [
            "complaint.submitted",
            "complaint.verified",
            "complaint.dispositioned",
        ]

        deliveries = await receiver.wait_for(3)
        # Each event fans out to every endpoint in one transaction: by now the Jawa Barat
        # endpoint's deliveries would exist.
        jabar = await client.get(
            f"/api/v1/webhooks/endpoints/{elsewhere.json()['id']}/deliveries",
            headers=admin(settings),
        )
        assert jabar.status_code == 200 and jabar.json()["items"] == []

    assert len(deliveries) == 3
    webhook = Webhook(secret)
    bodies = [webhook.verify(d.body, d.headers) for d in deliveries]
    assert sorted(b["type"] for b in bodies) == [
        "complaint.dispositioned",
        "complaint.submitted",
        "complaint.verified",
    ]
    assert {b["data"]["tracking_id"] for b in bodies} == {tracking_id}
    dispositioned = next(b for b in bodies if b["type"] == "complaint.dispositioned")
    assert dispositioned["data"]["status"] == "dispositioned"
    assert dispositioned["data"]["agencies"][0]["code"] == "pemda-11.01.dinas-pupr"
    assert "siti@example.id" not in json.dumps(bodies)
    assert len({d.headers["webhook-id"] for d in deliveries}) == 3


async def test_services_refuse_requests_that_bypass_the_gateway(platform: Platform) -> None:
    async with httpx.AsyncClient() as client:
        for service in ("intake", "routing", "notifications"):
            direct = await client.get(f"{platform.url(service)}/openapi.json")
            assert direct.status_code == 401, service
            assert direct.headers["content-type"] == "application/problem+json"
            assert (await client.get(f"{platform.url(service)}/healthz")).status_code == 200
        filed = await client.post(
            f"{platform.url('intake')}/api/v1/complaints", json=complaint_payload()
        )
        assert filed.status_code == 401


async def test_gateway_documents_every_service(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway) as client:
        spec = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert {"/api/v1/complaints", "/api/v1/agencies", "/api/v1/webhooks/endpoints"} <= set(
        spec["paths"]
    )
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary") or not operation.get("description")
    ]
    assert undocumented == []
    schemas = spec["components"]["schemas"]
    bodies_without_example = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
        # JSON mostly; the OAuth2 token endpoint takes a form.
        and not all(
            _has_example(media, schemas) for media in operation["requestBody"]["content"].values()
        )
    ]
    assert bodies_without_example == []


def _has_example(media: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    # An optional body is `anyOf: [<ref>, null]`: its model's examples count.
    candidates = [schema, *schema.get("anyOf", [])]
    for candidate in candidates:
        ref = candidate.get("$ref", "")
        resolved = schemas[ref.rsplit("/", 1)[-1]] if ref else candidate
        if "examples" in resolved or "example" in resolved:
            return True
    return False


async def test_an_event_the_fast_path_missed_is_relayed_by_the_workers(
    platform: Platform, settings: Settings
) -> None:
    """Redis was unreachable when the complaint was committed: the workers' relay catches up."""
    unreachable = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    dead_redis = create_arq_redis(unreachable)
    try:
        async with unit_of_work(
            sessionmaker, Publisher(unreachable, dead_redis, sessionmaker)
        ) as session:
            submitted = await ComplaintService(session, settings).submit(
                ANONYMOUS, ComplaintCreate.model_validate(complaint_payload()), None
            )
            body = submitted.body
        async with sessionmaker() as session:
            event = await session.scalar(
                select(Event).where(Event.data["tracking_id"].astext == body["tracking_id"])
            )
        assert event is not None and event.published_at is None
    finally:
        await dead_redis.aclose(close_connection_pool=True)
        await engine.dispose()

    async with httpx.AsyncClient(base_url=platform.gateway) as client:
        tracked = await wait_for_status(client, body["tracking_id"], "dispositioned")
    assert tracked["agencies"][0]["code"] == "pemda-11.01.dinas-pupr"
