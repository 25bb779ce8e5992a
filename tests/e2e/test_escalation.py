"""Acceptance 3: an office that never acts sees its complaint escalate to its kabupaten/kota, its
province, then the ministry — each by the routing worker's sweep, each with an event on the
timeline and a webhook. Real processes; the platform's clock is moved forward (time travel)."""

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
from services.models import Agency, ComplaintAgency
from services.models.complaint import Complaint
from services.models.routing import ComplaintClock
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.e2e.timetravel import (
    clock_control,
    database,
    eventually,
    time_travel_platform,
    time_travel_settings,
)
from tests.factories import add_api_key
from tests.receiver import running_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def settings(settings: Settings, servers: tuple[str, str]) -> Iterator[Settings]:
    # A database of its own: moving the clock forward must not sweep other tests' complaints.
    with time_travel_settings(settings, servers[0], "escalation") as own:
        yield own


@pytest.fixture(scope="module")
def platform(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with time_travel_platform(settings, tmp_path_factory.mktemp("escalation-logs")) as running:
        yield running


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with database(settings) as engine:
        yield engine


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    async with clock_control(settings) as client:
        yield client


def admin(settings: Settings) -> dict[str, str]:
    assert settings.admin_api_key is not None
    return {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"}


async def agency_key(engine: AsyncEngine, code: str) -> dict[str, str]:
    """An API key (role agency) of the agency `code`, written by the shared factory."""
    async with AsyncSession(engine) as session:
        agency = await session.scalar(select(Agency.id).where(Agency.code == code))
        assert agency is not None
        _, key = await add_api_key(session, role="agency", agency_id=agency)
        await session.commit()
    return {"Authorization": f"Bearer {key}"}


async def test_an_office_that_never_acts_escalates_to_regency_province_and_ministry(
    platform: Platform, settings: Settings, engine: AsyncEngine, redis: Redis
) -> None:
    async with (
        running_receiver() as receiver,
        httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client,
    ):
        endpoint = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": receiver.url, "region_codes": ["11"]},
            headers=admin(settings),
        )
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]

        # A road complaint in Kabupaten Aceh Selatan: the disposition rules send it to the
        # kabupaten's public-works office (Dinas PUPR), which never acts on it.
        created = await client.post("/api/v1/complaints", json=complaint_payload())
        assert created.status_code == 201, created.text
        tracking_id = created.json()["tracking_id"]

        async def handler() -> tuple[uuid.UUID, Any] | None:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(Complaint.id, Agency.id.label("agency_id"), Agency.code, Agency.kind)
                        .join(ComplaintAgency, ComplaintAgency.complaint_id == Complaint.id)
                        .join(Agency, Agency.id == ComplaintAgency.agency_id)
                        .where(
                            Complaint.tracking_id == tracking_id,
                            ComplaintAgency.role == "handler",
                            ComplaintAgency.active.is_(True),
                        )
                    )
                ).first()
            return (row.id, row) if row is not None else None

        complaint_id, office = await eventually(handler, "the complaint is dispositioned")
        assert office.kind == "opd", f"dispositioned to {office.code}, not to an office"
        # The hierarchy above the office, from the directory: kabupaten/kota, province, ministry.
        chain = [office.code.rsplit(".", 1)[0], "pemprov-11", "kemendagri"]
        assert chain[0] == "pemda-11.01"
        # The agencies above see it in their inbox (a parent sees its offices' complaints),
        # and after each escalation with an assignment of role `escalation` of their own.
        inboxes = {code: await agency_key(engine, code) for code in chain}

        async def inbox_item(code: str) -> dict[str, Any]:
            listed = await client.get("/api/v1/agency/complaints", headers=inboxes[code])
            assert listed.status_code == 200, listed.text
            items = [i for i in listed.json()["items"] if i["tracking_id"] == tracking_id]
            assert len(items) == 1, (code, listed.json())
            item: dict[str, Any] = items[0]
            return item

        def watching(item: dict[str, Any]) -> set[str]:
            return {a["agency_code"] for a in item["assignments"] if a["role"] == "escalation"}

        assert watching(await inbox_item("pemprov-11")) == set()

        async def first_response_due() -> datetime | None:
            async with engine.connect() as conn:
                return await conn.scalar(
                    select(ComplaintClock.due_at).where(
                        ComplaintClock.complaint_id == complaint_id,
                        ComplaintClock.kind == "first_response",
                        ComplaintClock.stopped_at.is_(None),
                    )
                )

        async def timeline_escalations() -> list[dict[str, Any]]:
            body = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()
            return [e for e in body["timeline"] if e["type"] == "complaint.escalated"]

        for level, above in enumerate(chain, start=1):
            due = await eventually(first_response_due, "a running first-response clock")
            # Jump the platform's clock just past the due time; the sweep (every second) acts.
            await set_offset(settings, redis, due + timedelta(minutes=1) - datetime.now(UTC))

            async def escalated_to_level(level: int = level) -> list[dict[str, Any]] | None:
                found = await timeline_escalations()
                return found if len(found) >= level else None

            escalations = await eventually(escalated_to_level, f"escalation {level} to {above}")
            assert len(escalations) == level, escalations

            item = await inbox_item(above)
            assert item["escalation_level"] == level
            assert watching(item) == set(chain[:level])

        # Every escalation reached the webhook receiver, naming from and to, by the system.
        def escalation_hooks() -> list[dict[str, Any]]:
            webhook = Webhook(secret)
            bodies = [webhook.verify(d.body, d.headers) for d in receiver.received]
            return [b for b in bodies if b["type"] == "complaint.escalated"]

        async def three_hooks() -> list[dict[str, Any]] | None:
            hooks = escalation_hooks()
            return hooks if len(hooks) >= 3 else None

        hooks = await eventually(three_hooks, "three escalation webhooks")
        assert [h["data"]["to"]["code"] for h in hooks] == chain
        assert [h["data"]["from"]["code"] for h in hooks] == [office.code, *chain[:2]]
        assert [h["data"]["level"] for h in hooks] == [1, 2, 3]
        assert all(h["data"]["tracking_id"] == tracking_id for h in hooks)
        assert all("terlewati" in h["data"]["reason"] for h in hooks)

        tracked = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()
        types = [e["type"] for e in tracked["timeline"]]
        assert types.count("complaint.escalated") == 3
        assert "complaint.sla_breached" in types and "complaint.reminder" in types
