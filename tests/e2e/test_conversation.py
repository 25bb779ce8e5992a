"""The conversation through the gateway and every real process: the agency's follow-ups and
comments reach the reporter, the reporter comments, replies within the reply window (its clock
stops), accepts (every clock stops) and rates once; a resolved complaint reopens up to the end
of the 10th working day after its resolution (counted with the holiday calendar) and not after,
and its agency's clocks start again; a reply after the window closed is refused. The platform's
clock is moved forward, not waited for.
"""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.clock import set_offset
from services.domain.calendar import add_working_days
from services.models import Agency, Complaint, ComplaintClock
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

pytestmark = pytest.mark.e2e
OFFICE = "pemda-11.01.dinas-pupr"  # where infrastructure in 11.01.01 goes by the default rules
WIB = "Asia/Jakarta"  # Aceh


@pytest.fixture(scope="module")
def settings(settings: Settings, servers: tuple[str, str]) -> Iterator[Settings]:
    # A database of its own: moving the clock forward must not sweep other tests' complaints.
    with time_travel_settings(settings, servers[0], "conversation") as own:
        yield own


@pytest.fixture(scope="module")
def platform(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with time_travel_platform(settings, tmp_path_factory.mktemp("conversation-logs")) as running:
        yield running


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with database(settings) as engine:
        yield engine


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    async with clock_control(settings) as client:
        yield client


async def account(
    engine: AsyncEngine, client: httpx.AsyncClient, role: str, agency_code: str | None = None
) -> dict[str, str]:
    """An account (the shared factory), signed in through the gateway."""
    async with AsyncSession(engine) as session:
        agency = None
        if agency_code is not None:
            agency = await session.scalar(select(Agency.id).where(Agency.code == agency_code))
            assert agency is not None, f"no agency {agency_code}"
        made = await add_account(session, role=role, agency_id=agency)
        email = made.email
        await session.commit()
    return {"Authorization": f"Bearer {await sign_in(client, email)}"}


async def test_the_reporter_and_the_agency_converse_until_the_windows_close(
    platform: Platform, settings: Settings, engine: AsyncEngine, redis: Redis
) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        citizen = await account(engine, client, "citizen")
        liaison = await account(engine, client, "liaison", OFFICE)

        async def status(tracking_id: str) -> str:
            found: str = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()["status"]
            return found

        async def clocks(tracking_id: str) -> dict[str, bool]:
            """Each clock kind of the complaint: True while one of that kind runs."""
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(ComplaintClock.kind, ComplaintClock.stopped_at)
                    .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
                    .where(Complaint.tracking_id == tracking_id)
                )
                found: dict[str, bool] = {}
                for kind, stopped_at in rows:
                    found[kind] = found.get(kind, False) or stopped_at is None
                return found

        async def file(title: str) -> tuple[str, dict[str, str]]:
            filed = await client.post(
                "/api/v1/complaints", json=complaint_payload(title=title), headers=citizen
            )
            assert filed.status_code == 201, filed.text
            tracking_id: str = filed.json()["tracking_id"]

            async def in_the_office() -> bool:
                return await status(tracking_id) == "dispositioned"

            await eventually(in_the_office, f"{tracking_id} dispositioned")
            accepted = await client.post(
                f"/api/v1/agency/complaints/{tracking_id}/accept", json={}, headers=liaison
            )
            assert accepted.status_code == 200, accepted.text
            return tracking_id, {"X-Reporter-Token": filed.json()["reporter_token"]}

        async def follow_up(tracking_id: str, text: str) -> None:
            answered = await client.post(
                f"/api/v1/agency/complaints/{tracking_id}/follow-ups",
                json={"text": text},
                headers=liaison,
            )
            assert answered.status_code == 200, answered.text

        conversation, token = await file("Jalan berlubang di depan Pasar Bakongan")
        refused, _ = await file("Lampu jalan padam di Jalan Merdeka")
        silent, silent_token = await file("Saluran air tersumbat di Gampong Keude")

        # 1. The agency answers; the reporter reads the follow-up and they talk.
        await follow_up(conversation, "Tim sudah meninjau lokasi; penambalan pekan depan.")
        follow_ups = await client.get(f"/api/v1/complaints/{conversation}/follow-ups")
        assert [f["text"] for f in follow_ups.json()] == [
            "Tim sudah meninjau lokasi; penambalan pekan depan."
        ]
        said = await client.post(
            f"/api/v1/agency/complaints/{conversation}/comments",
            json={"body": "Mohon kirim foto terbaru."},
            headers=liaison,
        )
        assert said.status_code == 201, said.text
        answered = await client.post(
            f"/api/v1/complaints/{conversation}/comments",
            json={"body": "Foto sudah saya unggah."},
            headers=token,
        )
        assert answered.status_code == 201, answered.text
        comments = (await client.get(f"/api/v1/complaints/{conversation}/comments")).json()
        assert [(c["author"], c["body"]) for c in comments] == [
            ("agency", "Mohon kirim foto terbaru."),
            ("reporter", "Foto sudah saya unggah."),
        ]

        # 2. The reporter replies within the window: back to work, the window's clock stops.
        async def reply_window_runs() -> bool:
            return (await clocks(conversation)).get("reply_window") is True

        await eventually(reply_window_runs, "the reply window")
        replied = await client.post(
            f"/api/v1/complaints/{conversation}/reply",
            json={"body": "Belum ditambal sampai hari ini."},
            headers=token,
        )
        assert replied.status_code == 200, replied.text
        assert replied.json()["status"] == "in_progress"

        async def window_stopped() -> dict[str, bool] | None:
            found = await clocks(conversation)
            return found if found.get("reply_window") is False else None

        assert (await eventually(window_stopped, "the reply window stopped"))["completion"]

        # 3. A second follow-up; the reporter accepts it and rates it, once.
        await follow_up(conversation, "Jalan telah ditambal pada hari ini.")
        accepted = await client.post(f"/api/v1/complaints/{conversation}/accept", headers=citizen)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "resolved"
        resolved_at = datetime.now(UTC)

        async def all_stopped() -> bool:
            found = await clocks(conversation)
            return bool(found) and not any(found.values())

        await eventually(all_stopped, "every clock stopped at the acceptance")
        rating = f"/api/v1/complaints/{conversation}/rating"
        rated = await client.post(rating, json={"rating": 5, "comment": "Cepat."}, headers=token)
        assert rated.status_code == 201, rated.text
        again = await client.post(rating, json={"rating": 1}, headers=token)
        assert (again.status_code, again.json()["code"]) == (409, "already_rated")

        # The other complaint is resolved by its agency at the same time; the third awaits a
        # reply that never comes.
        resolved = await client.post(
            f"/api/v1/agency/complaints/{refused}/resolve",
            json={"reason": "Lampu sudah diganti."},
            headers=liaison,
        )
        assert resolved.status_code == 200, resolved.text
        await follow_up(silent, "Saluran sudah dibersihkan petugas.")

        # 4. The 10th working day after the resolution, by the holiday calendar, in WIB.
        limit = add_working_days(resolved_at, 10, WIB)
        await set_offset(settings, redis, limit - timedelta(hours=1) - datetime.now(UTC))
        reopened = await client.post(
            f"/api/v1/complaints/{conversation}/reopen",
            json={"reason": "Tambalan sudah rusak lagi."},
            headers=token,
        )
        assert reopened.status_code == 200, reopened.text
        assert reopened.json()["status"] == "in_progress"

        async def agency_clocks_again() -> bool:
            found = await clocks(conversation)
            return found.get("first_response") is True and found.get("completion") is True

        await eventually(agency_clocks_again, "the agency's clocks started again")
        inbox = await client.get(f"/api/v1/agency/complaints/{conversation}", headers=liaison)
        assert inbox.json()["assignments"][0]["status"] == "accepted"

        # 5. Past that day neither a reopening nor a late reply is taken.
        await set_offset(settings, redis, limit + timedelta(hours=1) - datetime.now(UTC))
        late = await client.post(
            f"/api/v1/complaints/{refused}/reopen",
            json={"reason": "Lampu padam lagi."},
            headers=citizen,
        )
        assert (late.status_code, late.json()["code"]) == (409, "reopen_window_closed")
        assert await status(refused) == "resolved"

        async def closed_by_the_sweep() -> bool:
            return await status(silent) == "resolved"

        await eventually(closed_by_the_sweep, "the silent complaint's reply window closed")
        too_late = await client.post(
            f"/api/v1/complaints/{silent}/reply",
            json={"body": "Masih tersumbat."},
            headers=silent_token,
        )
        assert (too_late.status_code, too_late.json()["code"]) == (409, "reply_window_closed")

        # Everything is on the public timeline, in order.
        entries: list[dict[str, Any]] = (
            await client.get(f"/api/v1/complaints/{conversation}")
        ).json()["timeline"]
        types = [e["type"] for e in entries]
        wanted = [
            "complaint.followed_up",
            "complaint.commented",
            "complaint.commented",
            "complaint.reporter_replied",
            "complaint.followed_up",
            "complaint.resolution_accepted",
            "complaint.rated",
            "complaint.reopened",
        ]
        remaining = iter(types)
        assert all(any(t == w for t in remaining) for w in wanted), types
