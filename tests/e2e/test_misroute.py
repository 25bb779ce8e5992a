"""Acceptance 4, with real processes through the gateway: a complaint lands at an agency (where
the default disposition sends it), that agency's staff return it as not theirs (bukan wewenang)
naming the right agency; it lands there (in that agency's inbox, no longer in the first one's),
the timeline says why, and the return is counted."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from services.db import create_sessionmaker
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.credentials import make_world, sign_in
from tests.e2e.platform import Platform
from tests.factories import add_account, agency_id

pytestmark = pytest.mark.e2e

INBOX = "/api/v1/agency/complaints"
REASON = "Ruas jalan provinsi: kewenangan Pemerintah Provinsi Aceh"


async def wait_for_agency(
    client: httpx.AsyncClient, tracking_id: str, admin: dict[str, str]
) -> dict[str, Any]:
    """The complaint once an agency has it; verified by the admin if policy holds it back."""
    deadline = time.monotonic() + 30
    body: dict[str, Any] = {}
    verified = False
    while time.monotonic() < deadline:
        body = (await client.get(f"/api/v1/complaints/{tracking_id}", headers=admin)).json()
        if body["status"] == "dispositioned" and body["agencies"]:
            return body
        held_back = any(e["type"] == "complaint.verification_required" for e in body["timeline"])
        if held_back and not verified:
            answer = await client.post(
                f"/api/v1/verification/complaints/{tracking_id}/verify", json={}, headers=admin
            )
            assert answer.status_code == 200, answer.text
            verified = True
        await asyncio.sleep(0.2)
    raise AssertionError(f"no agency after 30 s: {body}")


async def liaison_of(settings: Settings, gateway: str, agency: uuid.UUID) -> dict[str, str]:
    engine = create_async_engine(settings.require_database_url())
    try:
        async with create_sessionmaker(engine)() as session:
            account = await add_account(session, role="liaison", agency_id=agency)
            await session.commit()
            email = account.email
    finally:
        await engine.dispose()
    async with httpx.AsyncClient(base_url=gateway) as client:
        return {"Authorization": f"Bearer {await sign_in(client, email)}"}


async def province_id(settings: Settings) -> uuid.UUID:
    engine = create_async_engine(settings.require_database_url())
    try:
        async with create_sessionmaker(engine)() as session:
            return await agency_id(session, "pemprov-11")
    finally:
        await engine.dispose()


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    answer = await client.get(INBOX, params={"limit": 100}, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["tracking_id"] for item in answer.json()["items"]]


async def test_a_misrouted_complaint_is_returned_to_the_right_agency(
    platform: Platform, settings: Settings
) -> None:
    world = await make_world(settings, platform.gateway)
    admin = dict(world.callers["bootstrap_admin"].headers)
    province = await province_id(settings)
    # The province's coordinator: the right agency for a provincial road.
    right = dict(world.callers["coordinator"].headers)

    async with httpx.AsyncClient(base_url=platform.gateway, timeout=30) as client:
        filed = await client.post("/api/v1/complaints", json=complaint_payload())
        assert filed.status_code == 201, filed.text
        tracking_id = filed.json()["tracking_id"]
        landed = await wait_for_agency(client, tracking_id, admin)
        first = uuid.UUID(landed["agencies"][0]["id"])
        assert first != province
        wrong = await liaison_of(settings, platform.gateway, first)

        # The first agency has it in its inbox, with its handler assignment.
        assert tracking_id in await listed(client, wrong)
        detail = (await client.get(f"{INBOX}/{tracking_id}", headers=wrong)).json()
        assert detail["returns_count"] == 0
        assert [(a["agency_id"], a["role"]) for a in detail["assignments"]] == [
            (str(first), "handler")
        ]

        returned = await client.post(
            f"{INBOX}/{tracking_id}/return",
            json={"reason": REASON, "agency_id": str(province)},
            headers=wrong,
        )
        assert returned.status_code == 200, returned.text
        assert returned.json()["status"] == "dispositioned"
        assert returned.json()["returns_count"] == 1

        # It landed at the province: in its inbox, out of the first agency's.
        assert tracking_id in await listed(client, right)
        assert tracking_id not in await listed(client, wrong)
        gone = await client.get(f"{INBOX}/{tracking_id}", headers=wrong)
        assert gone.status_code == 404
        there = await client.get(f"{INBOX}/{tracking_id}", headers=right)
        assert there.status_code == 200, there.text
        there_body = there.json()
        assert there_body["returns_count"] == 1
        assert [a["agency_id"] for a in there_body["all_assignments"]] == [str(province)]
        handling = [a for a in there_body["assignments"] if a["agency_id"] == str(province)]
        assert [(a["role"], a["status"]) for a in handling] == [("handler", "assigned")]

        # The timeline says why, on the returned and on the dispositioned entry.
        entries = [e for e in there_body["timeline"] if e["type"] != "complaint.submitted"]
        last_two = entries[-2:]
        assert [(e["type"], e["status"]) for e in last_two] == [
            ("complaint.returned", "returned"),
            ("complaint.dispositioned", "dispositioned"),
        ]
        assert last_two[0]["reason"] == REASON
        assert REASON in last_two[1]["reason"]
        assert last_two[0]["actor_role"] == "liaison"
        for entry in last_two:
            assert entry["details"]["from_agency"]["id"] == str(first)
            assert entry["details"]["to_agency"]["id"] == str(province)
        # The public timeline shows the same reasons.
        public = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()
        reasons = {e["type"]: e["reason"] for e in public["timeline"]}
        assert reasons["complaint.returned"] == REASON
        assert REASON in reasons["complaint.dispositioned"]
        assert [a["id"] for a in public["agencies"]] == [str(province)]
