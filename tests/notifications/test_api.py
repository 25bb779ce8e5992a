"""The webhook admin API, in-process, against the real database (rolled back per test)."""

import base64
import dataclasses
import uuid
from typing import Any

import httpx
import pytest

from notifications.dispatcher import Dispatcher
from notifications.main import create_app
from notifications.vault import unseal
from notifications.worker import handle_event
from services.models import WebhookEndpoint
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.notifications.conftest import api_client, fast_config
from tests.notifications.helpers import add_event, deliveries, until
from tests.receiver import Receiver

ENDPOINTS = "/api/v1/webhooks/endpoints"
ACEH = {
    "url": "https://lapor.acehprov.go.id/aduan/webhook",
    "description": "Sistem pengaduan Pemerintah Aceh",
    "region_codes": ["11", "11.01"],
    "event_types": ["complaint.dispositioned"],
}


def strict_runtime(runtime: Runtime) -> Runtime:
    """The same runtime with the production default: no private targets."""
    settings = runtime.settings.model_copy(update={"webhook_allow_private_targets": False})
    return dataclasses.replace(runtime, settings=settings)


def field_errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [(e["pointer"], e["code"]) for e in response.json()["errors"]]


async def test_registration_shows_the_secret_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await client.post(ENDPOINTS, json=ACEH)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"] == ACEH["url"]
    assert body["description"] == ACEH["description"]
    assert body["region_codes"] == ["11", "11.01"]
    assert body["event_types"] == ["complaint.dispositioned"]
    assert body["active"] is True and body["created_at"]
    assert response.headers["location"] == f"{ENDPOINTS}/{body['id']}"
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64

    fetched = await client.get(f"{ENDPOINTS}/{body['id']}")
    listed = await client.get(ENDPOINTS)

    assert fetched.status_code == 200
    assert {k: v for k, v in body.items() if k != "secret"} == fetched.json()
    assert [e["id"] for e in listed.json()["items"]] == [body["id"]]
    for answer in (fetched, listed):
        assert '"secret"' not in answer.text and secret not in answer.text
    async with runtime.sessionmaker() as session:
        stored = await session.get(WebhookEndpoint, uuid.UUID(body["id"]))
        # Encrypted at rest: the stored value is not the secret, but decrypts to it.
        assert stored is not None and secret not in stored.secret
        assert unseal(runtime.settings.webhook_secret_keys, stored.secret) == secret


async def test_each_endpoint_gets_its_own_secret(client: httpx.AsyncClient) -> None:
    first = (await client.post(ENDPOINTS, json={"url": "https://a.example.go.id/h"})).json()
    second = (await client.post(ENDPOINTS, json={"url": "https://a.example.go.id/h"})).json()

    assert first["secret"] != second["secret"]
    assert first["region_codes"] == [] and first["event_types"] == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:9000/hooks",
        "https://localhost/hooks",
        "https://api.localhost/hooks",
        "https://10.20.30.40/hooks",
        "https://192.168.1.10/hooks",
        "https://172.16.0.5/hooks",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata service
        "https://100.64.0.1/hooks",  # carrier-grade NAT
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://[fd00::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
    ],
)
async def test_private_targets_are_refused(url: str, runtime: Runtime) -> None:
    strict = strict_runtime(runtime)
    async with api_client(create_app(strict.settings), strict) as client:
        response = await client.post(
            ENDPOINTS, json={"url": url}, headers={"Accept-Language": "en"}
        )

    assert field_errors(response) == [("/url", "private_target")]
    assert (
        response.json()["errors"][0]["message"] == "Private or loopback addresses are not allowed"
    )


async def test_public_address_is_accepted_and_unresolvable_host_refused(runtime: Runtime) -> None:
    strict = strict_runtime(runtime)
    async with api_client(create_app(strict.settings), strict) as client:
        public = await client.post(ENDPOINTS, json={"url": "https://1.1.1.1/hooks"})
        unknown = await client.post(ENDPOINTS, json={"url": "https://lapor.nonexistent.invalid/h"})

    assert public.status_code == 201, public.text
    assert field_errors(unknown) == [("/url", "unresolvable_target")]


async def test_loopback_is_allowed_when_configured(client: httpx.AsyncClient) -> None:
    response = await client.post(ENDPOINTS, json={"url": "http://127.0.0.1:9000/hooks"})

    assert response.status_code == 201, response.text


async def test_unknown_regions_and_event_types_are_pointed_at(client: httpx.AsyncClient) -> None:
    response = await client.post(
        ENDPOINTS,
        json={
            "url": "https://lapor.example.go.id/h",
            "region_codes": ["11", "99", "11.01", "11.99.99"],
            "event_types": ["complaint.dispositioned", "complaint.deleted"],
        },
        headers={"Accept-Language": "id"},
    )

    assert field_errors(response) == [
        ("/region_codes/1", "unknown_region"),
        ("/region_codes/3", "unknown_region"),
        ("/event_types/1", "unknown_event_type"),
    ]
    assert response.json()["errors"][0]["message"] == "Kode wilayah tidak dikenal"
    assert (await client.get(ENDPOINTS)).json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://lapor.example.go.id/h"},
        {"url": "https://"},
        {"url": "not a url"},
        {},
        {"url": "https://lapor.example.go.id/h", "secret": "whsec_chosen"},
    ],
)
async def test_malformed_registrations_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(ENDPOINTS, json=body)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


ROUTES = [
    ("POST", ENDPOINTS),
    ("GET", ENDPOINTS),
    ("GET", f"{ENDPOINTS}/{uuid.uuid4()}"),
    ("DELETE", f"{ENDPOINTS}/{uuid.uuid4()}"),
    ("GET", f"{ENDPOINTS}/{uuid.uuid4()}/deliveries"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    ("principal", "status"),
    [
        (None, 401),  # did not come through the gateway
        (ANONYMOUS, 401),
        (Principal(kind=PrincipalKind.user, role=Role.citizen, subject="c-1"), 403),
        (Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="ops-1"), 403),
        (Principal(kind=PrincipalKind.user, role=Role.liaison, subject="l-1"), 403),
    ],
)
async def test_only_endpoint_owners_get_in(
    runtime: Runtime, method: str, path: str, principal: Principal | None, status: int
) -> None:
    async with api_client(create_app(runtime.settings), runtime, principal) as client:
        response = await client.request(method, path, json=ACEH if method == "POST" else None)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert '"secret"' not in response.text
    assert (await deliveries(runtime)) == []


async def test_delete_deactivates_and_cancels_pending_deliveries(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    created = (await client.post(ENDPOINTS, json={"url": "https://a.example.go.id/h"})).json()
    event = await add_event(runtime)
    await handle_event({"runtime": runtime}, event.model_dump(mode="json"))

    deleted = await client.delete(f"{ENDPOINTS}/{created['id']}")
    again = await client.delete(f"{ENDPOINTS}/{created['id']}")

    assert deleted.status_code == 204 and deleted.content == b""
    assert again.status_code == 204
    assert (await client.get(f"{ENDPOINTS}/{created['id']}")).json()["active"] is False
    assert [
        e["id"] for e in (await client.get(ENDPOINTS, params={"active": False})).json()["items"]
    ] == [created["id"]]
    assert (await client.get(ENDPOINTS, params={"active": True})).json()["items"] == []
    assert [d.status for d in await deliveries(runtime)] == ["cancelled"]
    # Deactivated endpoints hear nothing more.
    later = await add_event(runtime)
    assert await handle_event({"runtime": runtime}, later.model_dump(mode="json")) == ("processed")


async def test_unknown_endpoint_is_404(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    for response in (
        await client.get(f"{ENDPOINTS}/{missing}"),
        await client.delete(f"{ENDPOINTS}/{missing}"),
        await client.get(f"{ENDPOINTS}/{missing}/deliveries"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert (await client.get(f"{ENDPOINTS}/not-a-uuid")).status_code == 422


async def test_endpoints_page_with_a_cursor(client: httpx.AsyncClient) -> None:
    ids = [
        (await client.post(ENDPOINTS, json={"url": f"https://h{i}.example.go.id/"})).json()["id"]
        for i in range(5)
    ]

    first = (await client.get(ENDPOINTS, params={"limit": 2})).json()
    second = (
        await client.get(ENDPOINTS, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    third = (
        await client.get(ENDPOINTS, params={"limit": 2, "cursor": second["next_cursor"]})
    ).json()
    bad = await client.get(ENDPOINTS, params={"cursor": "bm90LWEtdXVpZA"})

    assert [e["id"] for e in first["items"] + second["items"] + third["items"]] == ids
    assert third["next_cursor"] is None
    assert field_errors(bad) == [("/cursor", "invalid_cursor")]


async def test_deliveries_show_what_happened(
    committed_runtime: Runtime, receiver: Receiver
) -> None:
    runtime = committed_runtime
    receiver.script = [503]
    config = fast_config(runtime.settings, endpoint_concurrency=1, retry_delay=lambda n: 3600.0)
    async with api_client(create_app(runtime.settings), runtime) as client:
        created = (await client.post(ENDPOINTS, json={"url": receiver.url})).json()
        failing_event = await add_event(runtime)
        ok_event = await add_event(runtime)
        for event in (failing_event, ok_event):
            await handle_event({"runtime": runtime}, event.model_dump(mode="json"))
        by_event = {d.event_id: d for d in await deliveries(runtime)}

        async with Dispatcher(runtime, config):

            async def both_attempted() -> bool:
                return all(d.attempts == 1 for d in await deliveries(runtime))

            await until(both_attempted)

        page = (await client.get(f"{ENDPOINTS}/{created['id']}/deliveries")).json()
        failed_only = (
            await client.get(
                f"{ENDPOINTS}/{created['id']}/deliveries", params={"status": "pending"}
            )
        ).json()

    newest_first = [by_event[ok_event.id].id, by_event[failing_event.id].id]
    assert [uuid.UUID(d["id"]) for d in page["items"]] == newest_first
    succeeded, failed = page["items"]
    assert succeeded["status"] == "succeeded" and succeeded["attempts"] == 1
    assert succeeded["last_status_code"] == 204 and succeeded["delivered_at"]
    assert succeeded["next_attempt_at"] is None and succeeded["event_id"] == str(ok_event.id)
    assert failed["status"] == "pending" and failed["attempts"] == 1
    assert failed["event_type"] == "complaint.dispositioned"
    assert failed["last_status_code"] == 503 and failed["last_error"].startswith("HTTP 503")
    assert failed["next_attempt_at"] and failed["delivered_at"] is None
    assert [d["id"] for d in failed_only["items"]] == [failed["id"]]


async def test_openapi_documents_every_operation(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    operations = {
        (method.upper(), path): op
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/webhooks")
        for method, op in item.items()
    }
    assert set(operations) == {
        ("POST", ENDPOINTS),
        ("GET", ENDPOINTS),
        ("GET", ENDPOINTS + "/{endpoint_id}"),
        ("DELETE", ENDPOINTS + "/{endpoint_id}"),
        ("GET", ENDPOINTS + "/{endpoint_id}/deliveries"),
        ("PATCH", ENDPOINTS + "/{endpoint_id}"),
        ("POST", ENDPOINTS + "/{endpoint_id}/rotate-secret"),
        ("POST", ENDPOINTS + "/{endpoint_id}/ping"),
        ("POST", ENDPOINTS + "/{endpoint_id}/recover"),
        ("GET", "/api/v1/webhooks/deliveries"),
        ("GET", "/api/v1/webhooks/deliveries/{delivery_id}"),
        ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/redeliver"),
        ("GET", "/api/v1/webhooks/event-types"),
    }
    for key, op in operations.items():
        assert op["tags"] == ["webhooks"], key
        assert op["summary"] and len(op["description"]) > 40, key
        assert {"401", "403", "422"} <= set(op["responses"]), key
        assert "application/problem+json" in op["responses"]["401"]["content"], key
        if "{endpoint_id}" in key[1] or "{delivery_id}" in key[1]:
            assert "404" in op["responses"], key
    create = operations[("POST", ENDPOINTS)]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[
        -1
    ]
    assert spec["components"]["schemas"][schema_name]["examples"][0]["region_codes"] == ["11"]
    created_ref = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    schemas = spec["components"]["schemas"]
    assert "secret" in schemas[created_ref.split("/")[-1]]["properties"]
    assert "secret" not in schemas["EndpointOut"]["properties"]
