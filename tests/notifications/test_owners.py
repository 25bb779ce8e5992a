"""Endpoints managed by their owners (issue 9): an agency (coordinator or key) and a regional
system manage their own, inside their own scope; another's endpoint answers 404. Pings, the
deliveries list and its filters, redelivery and recovery, and the event-type catalogue."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jsonschema
from sqlalchemy import update

from notifications.dispatcher import Dispatcher
from notifications.main import create_app
from services.models import WebhookDelivery
from services.principal import Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.factories import agency_id
from tests.notifications.conftest import ADMIN, api_client, fast_config
from tests.notifications.helpers import add_event, deliveries, fan_out, until
from tests.receiver import Receiver

ENDPOINTS = "/api/v1/webhooks/endpoints"
DELIVERIES = "/api/v1/webhooks/deliveries"
ACEH_SYSTEM = Principal(
    kind=PrincipalKind.api_key, role=Role.regional_system, subject="k-aceh", region_codes=("11",)
)
JABAR_SYSTEM = Principal(
    kind=PrincipalKind.api_key, role=Role.regional_system, subject="k-jabar", region_codes=("32",)
)


async def agency_key(runtime: Runtime, code: str) -> Principal:
    async with runtime.sessionmaker() as session:
        agency = await agency_id(session, code)
    return Principal(
        kind=PrincipalKind.api_key,
        role=Role.agency,
        subject=f"k-{code}",
        agency_id=agency,
        agency_ids=(agency,),
    )


@asynccontextmanager
async def as_(runtime: Runtime, principal: Principal) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(runtime.settings), runtime, principal) as client:
        yield client


async def test_a_regional_system_manages_its_own_endpoints_inside_its_regions(
    runtime: Runtime,
) -> None:
    async with as_(runtime, ACEH_SYSTEM) as aceh, as_(runtime, JABAR_SYSTEM) as jabar:
        default = await aceh.post(ENDPOINTS, json={"url": "https://lapor.acehprov.go.id/h"})
        narrower = await aceh.post(
            ENDPOINTS, json={"url": "https://lapor.acehprov.go.id/h", "region_codes": ["11.01"]}
        )
        outside = await aceh.post(
            ENDPOINTS, json={"url": "https://lapor.acehprov.go.id/h", "region_codes": ["32"]}
        )
        listed = (await aceh.get(ENDPOINTS)).json()["items"]
        theirs = default.json()["id"]
        others = [
            await jabar.get(f"{ENDPOINTS}/{theirs}"),
            await jabar.patch(f"{ENDPOINTS}/{theirs}", json={"enabled": False}),
            await jabar.delete(f"{ENDPOINTS}/{theirs}"),
            await jabar.post(f"{ENDPOINTS}/{theirs}/rotate-secret"),
        ]
        jabar_list = (await jabar.get(ENDPOINTS)).json()["items"]
    async with as_(runtime, ADMIN) as admin:
        everything = (await admin.get(ENDPOINTS)).json()["items"]

    assert default.status_code == 201, default.text
    assert default.json()["region_codes"] == ["11"]  # its whole scope by default
    assert default.json()["owner_kind"] == "regional_system"
    assert narrower.status_code == 201 and narrower.json()["region_codes"] == ["11.01"]
    assert outside.status_code == 422
    assert [(e["pointer"], e["code"]) for e in outside.json()["errors"]] == [
        ("/region_codes/0", "out_of_scope")
    ]
    assert [e["id"] for e in listed] == [default.json()["id"], narrower.json()["id"]]
    assert [r.status_code for r in others] == [404, 404, 404, 404]
    assert jabar_list == []
    assert {e["id"] for e in everything} == {e["id"] for e in listed}


async def test_an_agency_scopes_its_endpoints_to_its_own_agencies(runtime: Runtime) -> None:
    aceh_selatan = await agency_key(runtime, "pemda-11.01")
    async with runtime.sessionmaker() as session:
        other = await agency_id(session, "pemda-32.01")
    async with as_(runtime, aceh_selatan) as client:
        mine = await client.post(ENDPOINTS, json={"url": "https://a.example.go.id/h"})
        theirs = await client.post(
            ENDPOINTS, json={"url": "https://a.example.go.id/h", "agency_ids": [str(other)]}
        )
        regions = await client.post(
            ENDPOINTS, json={"url": "https://a.example.go.id/h", "region_codes": ["11"]}
        )

    assert mine.status_code == 201, mine.text
    assert mine.json()["agency_ids"] == [str(aceh_selatan.agency_id)]
    assert mine.json()["region_codes"] == []
    assert (mine.json()["owner_kind"], mine.json()["owner_ref"]) == (
        "agency",
        str(aceh_selatan.agency_id),
    )
    assert theirs.json()["errors"][0] == {
        "pointer": "/agency_ids/0",
        "code": "out_of_scope",
        "message": "Di luar cakupan Anda",
    }
    assert regions.json()["errors"][0]["pointer"] == "/region_codes/0"


async def test_an_agency_endpoint_gets_the_complaints_assigned_to_its_agency(
    runtime: Runtime,
) -> None:
    key = await agency_key(runtime, "pemda-11.01")
    async with as_(runtime, key) as client:
        created = (await client.post(ENDPOINTS, json={"url": "https://a.example.go.id/h"})).json()
    agency = {"id": str(key.agency_id), "code": "pemda-11.01", "name": "Aceh Selatan"}
    assigned = await add_event(runtime, region_code="32.01.01", agencies=[agency])
    elsewhere = await add_event(runtime, region_code="11.01.01", agencies=[])
    for event in (assigned, elsewhere):
        await fan_out(runtime, event)

    reached = {d.event_id for d in await deliveries(runtime)}
    assert reached == {assigned.id}
    assert created["agency_ids"] == [agency["id"]]


async def test_patch_changes_only_what_is_sent_and_disabling_cancels_pending(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    created = (
        await client.post(
            ENDPOINTS, json={"url": "https://a.example.go.id/h", "description": "lama"}
        )
    ).json()
    await fan_out(runtime, await add_event(runtime))

    renamed = await client.patch(f"{ENDPOINTS}/{created['id']}", json={"description": "baru"})
    disabled = await client.patch(f"{ENDPOINTS}/{created['id']}", json={"enabled": False})
    enabled = await client.patch(f"{ENDPOINTS}/{created['id']}", json={"enabled": True})

    assert renamed.json()["description"] == "baru" and renamed.json()["url"] == created["url"]
    assert (disabled.json()["enabled"], disabled.json()["disabled_reason"]) == (False, "owner")
    assert (enabled.json()["enabled"], enabled.json()["disabled_reason"]) == (True, None)
    assert [d.status for d in await deliveries(runtime)] == ["cancelled"]


async def test_a_ping_redelivery_and_recovery_reach_the_receiver(
    committed_runtime: Runtime, receiver: Receiver
) -> None:
    runtime = committed_runtime
    async with api_client(create_app(runtime.settings), runtime) as client:
        created = (await client.post(ENDPOINTS, json={"url": receiver.url})).json()
        endpoint = created["id"]
        ping = await client.post(f"{ENDPOINTS}/{endpoint}/ping")
        async with Dispatcher(runtime, fast_config(runtime.settings)):
            (pinged,) = await receiver.wait_for(1)
            await fan_out(runtime, await add_event(runtime))
            await receiver.wait_for(2)

            async def all_done() -> bool:
                return all(d.status == "succeeded" for d in await deliveries(runtime))

            await until(all_done)
            delivered = (await client.get(DELIVERIES, params={"endpoint_id": endpoint})).json()
            complaint = next(
                d for d in delivered["items"] if d["event_type"] == "complaint.dispositioned"
            )
            again = await client.post(f"{DELIVERIES}/{complaint['id']}/redeliver")
            await receiver.wait_for(3)
            await until(all_done)
            # As if both had died while the receiver was down.
            async with runtime.sessionmaker() as session:
                await session.execute(update(WebhookDelivery).values(status="dead"))
                await session.commit()
            recovered = await client.post(
                f"{ENDPOINTS}/{endpoint}/recover", json={"since": created["created_at"]}
            )
            await receiver.wait_for(5)
        detail = (await client.get(f"{DELIVERIES}/{complaint['id']}")).json()
        pings = await client.get(DELIVERIES, params={"event_type": "webhook.ping"})

    assert ping.status_code == 202, ping.text
    assert pinged.headers["webhook-id"] == ping.json()["event_id"]
    assert b'"type":"webhook.ping"' in pinged.body
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert recovered.json() == {"redelivered": 2}
    webhook_ids = [r.headers["webhook-id"] for r in receiver.received]
    assert webhook_ids.count(complaint["event_id"]) == 3  # delivered, redelivered, recovered
    assert [a["status_code"] for a in detail["attempts_made"]] == [204, 204, 204]
    assert [d["id"] for d in pings.json()["items"]] == [ping.json()["delivery_id"]]


async def test_a_pending_delivery_cannot_be_redelivered_and_others_are_invisible(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await client.post(ENDPOINTS, json={"url": "https://a.example.go.id/h"})
    await fan_out(runtime, await add_event(runtime))
    (pending,) = await deliveries(runtime)

    busy = await client.post(f"{DELIVERIES}/{pending.id}/redeliver")
    async with as_(runtime, ACEH_SYSTEM) as stranger:
        hidden = await stranger.get(f"{DELIVERIES}/{pending.id}")
        listed = (await stranger.get(DELIVERIES)).json()["items"]
    missing = await client.get(f"{DELIVERIES}/{uuid.uuid4()}")

    assert busy.status_code == 409
    assert (hidden.status_code, listed, missing.status_code) == (404, [], 404)


async def test_the_event_type_catalogue_has_a_schema_for_every_body_sent(
    client: httpx.AsyncClient,
) -> None:
    catalogue = (await client.get("/api/v1/webhooks/event-types")).json()
    schemas = {entry["type"]: entry["schema"] for entry in catalogue}
    body = {
        "type": "complaint.dispositioned",
        "timestamp": "2026-11-27T18:01:24.054071Z",
        "sequence": 3,
        "data": {"tracking_id": "ADN-HYVVD94K", "status": "dispositioned", "agencies": []},
    }

    assert {"complaint.submitted", "webhook.delivery_exhausted", "webhook.ping"} <= set(schemas)
    jsonschema.validate(body, schemas["complaint.dispositioned"])
    for wrong in ({**body, "type": "complaint.verified"}, {**body, "data": {"status": 1}}):
        try:
            jsonschema.validate(wrong, schemas["complaint.dispositioned"])
        except jsonschema.ValidationError:
            continue
        raise AssertionError(f"accepted {wrong}")
