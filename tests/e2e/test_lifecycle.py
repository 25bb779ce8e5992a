"""Acceptance 1 of the agency workflow: one complaint through its whole life, through the
gateway and every real process. Submitted → held for manual verification → verified by a
national admin and dispositioned to a kabupaten/kota government → delegated by its coordinator
to the kabupaten's Inspektorat → accepted and answered by the office's liaison → the reporter's
reply window elapses (the platform's clock is moved forward) → resolved by the sweep. Every step
is on the public timeline, with who acted, and reaches a webhook receiver.
"""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from standardwebhooks import Webhook

from services.clock import set_offset
from services.models import Agency, Complaint
from services.models.routing import ComplaintClock
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.credentials import sign_in
from tests.e2e.platform import Platform
from tests.e2e.timetravel import (
    clock_control,
    database,
    eventually,
    time_travel_platform,
    time_travel_settings,
)
from tests.factories import add_account
from tests.receiver import running_receiver

pytestmark = pytest.mark.e2e
REGENCY = "pemda-11.01"  # Pemerintah Kabupaten Aceh Selatan
OFFICE = "pemda-11.01.inspektorat"


@pytest.fixture(scope="module")
def settings(settings: Settings, servers: tuple[str, str]) -> Iterator[Settings]:
    # A database of its own: moving the clock forward must not sweep other tests' complaints.
    with time_travel_settings(settings, servers[0], "lifecycle") as own:
        yield own


@pytest.fixture(scope="module")
def platform(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with time_travel_platform(settings, tmp_path_factory.mktemp("lifecycle-logs")) as running:
        yield running


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with database(settings) as engine:
        yield engine


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    async with clock_control(settings) as client:
        yield client


async def staff(
    engine: AsyncEngine, client: httpx.AsyncClient, role: str, agency_code: str
) -> tuple[uuid.UUID, dict[str, str]]:
    """A staff account of the agency (the shared factory), signed in through the gateway."""
    async with AsyncSession(engine) as session:
        agency = await session.scalar(select(Agency.id).where(Agency.code == agency_code))
        assert agency is not None, f"no agency {agency_code} in the directory"
        account = await add_account(session, role=role, agency_id=agency)
        email = account.email
        await session.commit()
    return agency, {"Authorization": f"Bearer {await sign_in(client, email)}"}


def is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    remaining = iter(seen)
    return all(any(item == w for item in remaining) for w in wanted)


async def test_a_complaint_lives_its_whole_life_through_every_service(
    platform: Platform, settings: Settings, engine: AsyncEngine, redis: Redis
) -> None:
    assert settings.admin_api_key is not None
    admin = {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"}
    async with (
        running_receiver() as receiver,
        httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client,
    ):
        endpoint = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": receiver.url, "region_codes": ["11"]},
            headers=admin,
        )
        assert endpoint.status_code == 201, endpoint.text

        async def timeline(tracking_id: str) -> list[dict[str, Any]]:
            body = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()
            entries: list[dict[str, Any]] = body["timeline"]
            return entries

        async def reached(tracking_id: str, event_type: str) -> dict[str, Any]:
            async def probe() -> dict[str, Any] | None:
                found = [e for e in await timeline(tracking_id) if e["type"] == event_type]
                return found[-1] if found else None

            entry: dict[str, Any] = await eventually(probe, f"{event_type} on the timeline")
            return entry

        # 1. Submitted: illegal levies are always verified by a person (the category's policy).
        filed = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(
                category="korupsi_pungli",
                title="Pungutan liar pembuatan KTP di kantor kecamatan",
                description="Petugas meminta uang Rp50.000 untuk mempercepat pembuatan KTP "
                "elektronik, padahal layanan ini gratis.",
            ),
        )
        assert filed.status_code == 201, filed.text
        tracking_id = filed.json()["tracking_id"]
        waiting = await reached(tracking_id, "complaint.verification_required")
        assert waiting["status"] == "submitted"

        # 2. A national admin verifies it and sends it to the kabupaten/kota government.
        async with AsyncSession(engine) as session:
            regency_id = await session.scalar(select(Agency.id).where(Agency.code == REGENCY))
        queue = await client.get("/api/v1/verification/complaints", headers=admin)
        assert tracking_id in {c["tracking_id"] for c in queue.json()["items"]}
        verified = await client.post(
            f"/api/v1/verification/complaints/{tracking_id}/verify",
            json={
                "reason": "laporan lengkap, pungli layanan KTP",
                "target_agency_id": str(regency_id),
            },
            headers=admin,
        )
        assert verified.status_code == 200, verified.text
        dispositioned = await reached(tracking_id, "complaint.dispositioned")
        assert dispositioned["actor_role"] == "admin"
        tracked = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()
        assert [a["code"] for a in tracked["agencies"]] == [REGENCY]

        # 3. The regency's coordinator delegates it to its Inspektorat.
        _, coordinator = await staff(engine, client, "coordinator", REGENCY)
        office_id, liaison = await staff(engine, client, "liaison", OFFICE)
        inbox = await client.get("/api/v1/agency/complaints", headers=coordinator)
        assert tracking_id in {c["tracking_id"] for c in inbox.json()["items"]}
        delegated = await client.post(
            f"/api/v1/agency/complaints/{tracking_id}/delegate",
            json={"office_id": str(office_id), "reason": "Ditangani Inspektorat Kabupaten"},
            headers=coordinator,
        )
        assert delegated.status_code == 200, delegated.text

        # 4. The office's liaison accepts it and answers (tindak lanjut).
        office_inbox = await client.get("/api/v1/agency/complaints", headers=liaison)
        assert tracking_id in {c["tracking_id"] for c in office_inbox.json()["items"]}
        accepted = await client.post(
            f"/api/v1/agency/complaints/{tracking_id}/accept",
            json={"reason": "Diterima Inspektorat"},
            headers=liaison,
        )
        assert accepted.status_code == 200, accepted.text
        answered = await client.post(
            f"/api/v1/agency/complaints/{tracking_id}/follow-ups",
            json={"text": "Inspektorat telah memeriksa petugas; uang dikembalikan kepada pelapor."},
            headers=liaison,
        )
        assert answered.status_code in (200, 201), answered.text
        assert (await client.get(f"/api/v1/complaints/{tracking_id}")).json()[
            "status"
        ] == "responded"

        # 5. The reporter does not answer: once the reply window (10 working days) has passed
        #    on the platform's clock, the sweep closes the complaint as resolved.
        async def reply_window_due() -> datetime | None:
            async with engine.connect() as conn:
                return await conn.scalar(
                    select(ComplaintClock.due_at)
                    .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
                    .where(
                        Complaint.tracking_id == tracking_id,
                        ComplaintClock.kind == "reply_window",
                        ComplaintClock.stopped_at.is_(None),
                    )
                )

        due = await eventually(reply_window_due, "the reporter's reply window")
        await set_offset(settings, redis, due + timedelta(minutes=1) - datetime.now(UTC))
        closed = await reached(tracking_id, "complaint.resolved")
        assert closed["status"] == "resolved"
        assert closed["actor"] == "system"

        # Every step is on the timeline, in order, with who acted.
        entries = await timeline(tracking_id)
        steps = [
            "complaint.submitted",
            "complaint.verification_required",
            "complaint.verified",
            "complaint.dispositioned",
            "complaint.delegated",
            "complaint.accepted",
            "complaint.followed_up",
            "complaint.resolved",
        ]
        assert is_subsequence(steps, [e["type"] for e in entries]), [e["type"] for e in entries]
        roles = {e["type"]: e["actor_role"] for e in entries}
        assert roles["complaint.verified"] == "admin"
        assert roles["complaint.delegated"] == "coordinator"
        assert roles["complaint.accepted"] == roles["complaint.followed_up"] == "liaison"
        assert roles["complaint.resolved"] == "system"

        # ... and every step reached the regional system's webhook receiver, signed.
        webhook = Webhook(endpoint.json()["secret"])

        async def all_hooks() -> list[str] | None:
            types = [
                body["type"]
                for body in (webhook.verify(d.body, d.headers) for d in receiver.received)
                if body["data"]["tracking_id"] == tracking_id
            ]
            return types if set(steps) <= set(types) else None

        hooked = await eventually(all_hooks, "a webhook for every step")
        assert set(steps) <= set(hooked)
