"""The statistics kept current by the watermark job; the ops lists; an agency's statistics for
its coordinator only; exports with the privacy rules."""

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.main import create_app
from routing.stats.ops import stalled_cutoff
from routing.stats.refresh import BACKFILLED, refresh
from routing.stats.repository import StatsRepository
from services.models import StatsComplaintFact
from services.principal import Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import (
    add_assignment,
    add_complaint,
    add_timed_clock,
    add_timeline,
    agency_id,
)

OPS = Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="ops")
ADMIN = Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="admin")
NOW = datetime.now(UTC)


@pytest.fixture
async def ops(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime, OPS) as client:
        yield client


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime, ADMIN) as client:
        yield client


async def facts_of(session: AsyncSession, complaint_id: object) -> StatsComplaintFact:
    found = await session.scalar(
        select(StatsComplaintFact)
        .where(StatsComplaintFact.complaint_id == complaint_id)
        .execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def test_a_new_event_updates_the_facts_at_the_next_refresh(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(
        session, status="in_progress", created_at=NOW - timedelta(days=3)
    )
    await add_assignment(session, complaint, "pemda-11.01", status="accepted")
    await add_timeline(
        session, complaint, [("complaint.dispositioned", NOW - timedelta(days=3), {})]
    )
    await session.commit()
    await refresh(runtime)
    assert (await facts_of(session, complaint.id)).status == "in_progress"

    complaint.status = "resolved"
    await add_timeline(
        session,
        complaint,
        [
            ("complaint.followed_up", NOW - timedelta(minutes=2), {}),
            ("complaint.resolved", NOW - timedelta(minutes=1), {}),
        ],
    )
    await session.commit()
    await refresh(runtime)

    facts = await facts_of(session, complaint.id)
    assert facts.status == "resolved"
    assert facts.is_open is False
    assert facts.first_contact_resolved is True


async def test_a_complaint_without_a_region_counts_once_an_admin_sets_it(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, region_code=None, created_at=NOW - timedelta(days=1))
    await add_timeline(session, complaint, [("complaint.submitted", NOW - timedelta(days=1), {})])
    await session.commit()
    await refresh(runtime)
    assert await session.get(StatsComplaintFact, complaint.id) is None

    complaint.region_code = "11.01.01"
    await add_timeline(session, complaint, [("complaint.region_set", NOW, {})])
    await session.commit()
    await refresh(runtime)
    assert (await facts_of(session, complaint.id)).region_code == "11.01"


async def test_a_deadline_missed_before_an_escalation_stays_missed(
    session: AsyncSession, runtime: Runtime
) -> None:
    """The sweep moves an escalated clock's due date on for the next agency; the answer that
    came after the first deadline is still late."""
    complaint = await add_complaint(
        session, status="responded", created_at=NOW - timedelta(days=40)
    )
    await add_assignment(session, complaint, "pemda-11.01", status="responded")
    await add_timeline(
        session,
        complaint,
        [
            ("complaint.dispositioned", NOW - timedelta(days=40), {}),
            ("complaint.followed_up", NOW - timedelta(days=1), {}),
        ],
    )
    await add_timed_clock(
        session,
        complaint,
        "first_response",
        agency_code="pemda-11.01",
        started_at=NOW - timedelta(days=40),
        due_at=NOW + timedelta(days=5),  # moved on by the escalation
        breached_at=NOW - timedelta(days=30),  # the first deadline passed
        stopped_at=NOW - timedelta(days=1),
        working_days=5,
    )
    await session.commit()
    await refresh(runtime)

    assert (await facts_of(session, complaint.id)).first_response_met is False


async def test_a_refresh_of_more_complaints_than_one_statement_binds(
    session: AsyncSession, runtime: Runtime
) -> None:
    """asyncpg binds at most 32,767 parameters: a batch of 1,400 complaints' facts (26
    columns each) is written in several statements."""
    complaints = [
        await add_complaint(session, created_at=NOW - timedelta(hours=2)) for _ in range(1400)
    ]
    await session.commit()
    settings = runtime.settings.model_copy(update={"stats_refresh_batch": 5000})
    await refresh(
        Runtime(settings, runtime.engine, runtime.sessionmaker, runtime.redis, runtime.publisher)
    )

    stored = await session.scalar(
        select(func.count())
        .select_from(StatsComplaintFact)
        .where(StatsComplaintFact.complaint_id.in_([c.id for c in complaints]))
    )
    assert stored == 1400


async def test_a_refresh_run_stops_after_its_time_budget_and_the_next_goes_on(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaints = [
        await add_complaint(session, created_at=NOW - timedelta(hours=1)) for _ in range(6)
    ]
    await session.commit()
    small = Runtime(
        runtime.settings.model_copy(update={"stats_refresh_batch": 2}),
        runtime.engine,
        runtime.sessionmaker,
        runtime.redis,
        runtime.publisher,
    )
    ids = [c.id for c in complaints]

    async def with_facts() -> int:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(StatsComplaintFact)
                .where(StatsComplaintFact.complaint_id.in_(ids))
            )
            or 0
        )

    await refresh(small, budget_seconds=0)  # one batch, then the budget is spent
    assert await with_facts() == 2
    await refresh(small)
    assert await with_facts() == 6


async def test_the_ops_lists_name_overdue_returned_and_stalled_complaints(
    session: AsyncSession, runtime: Runtime, ops: httpx.AsyncClient
) -> None:
    overdue = await add_complaint(
        session, status="dispositioned", created_at=NOW - timedelta(days=30)
    )
    await add_assignment(session, overdue, "pemda-11.01")
    await add_timed_clock(
        session,
        overdue,
        "first_response",
        agency_code="pemda-11.01",
        started_at=NOW - timedelta(days=30),
        due_at=NOW - timedelta(days=20),
        working_days=5,
    )
    await add_timeline(
        session, overdue, [("complaint.dispositioned", NOW - timedelta(days=30), {})]
    )
    returned = await add_complaint(
        session, status="dispositioned", returns_count=2, created_at=NOW - timedelta(days=2)
    )
    await add_timeline(session, returned, [("complaint.returned", NOW - timedelta(hours=1), {})])
    fresh = await add_complaint(session, status="in_progress", created_at=NOW - timedelta(days=1))
    await add_timeline(session, fresh, [("complaint.accepted", NOW - timedelta(minutes=5), {})])
    await session.commit()
    await refresh(runtime)

    listed = {}
    for which in ("overdue", "returned", "stalled"):
        response = await ops.get(f"/api/v1/ops/complaints/{which}", params={"limit": 200})
        assert response.status_code == 200, response.text
        listed[which] = {item["tracking_id"] for item in response.json()["items"]}

    assert overdue.tracking_id in listed["overdue"]
    assert returned.tracking_id in listed["returned"]
    assert overdue.tracking_id not in listed["returned"]
    # 30 days without an event is more than 5 working days, whatever the holidays.
    assert overdue.tracking_id in listed["stalled"]
    assert fresh.tracking_id not in listed["stalled"]
    assert fresh.tracking_id not in listed["overdue"]


def test_stalled_counts_working_days_across_idul_fitri() -> None:
    # Tue 8 Apr 2025 10:00 WIB. An event on Wed 26 Mar has 2 working days behind it (26 and
    # 27 Mar; 28 Mar - 7 Apr are holidays and cuti bersama), one on Thu 27 Mar only 1: events
    # before Thu 27 Mar 00:00 WIB are stalled after 2 working days.
    now = datetime(2025, 4, 8, 3, 0, tzinfo=UTC)
    assert stalled_cutoff(now, 2) == datetime(2025, 3, 26, 17, 0, tzinfo=UTC)


async def test_the_pipeline_shows_queues_outbox_and_failures(ops: httpx.AsyncClient) -> None:
    response = await ops.get("/api/v1/ops/pipeline")

    assert response.status_code == 200, response.text
    body = response.json()
    assert {q["consumer"] for q in body["queues"]} == {"routing", "notifications"}
    assert body["outbox_lag_seconds"] >= 0
    assert isinstance(body["dead_lettered_webhooks"], list)


async def test_a_coordinator_sees_its_own_agency_statistics_only(
    session: AsyncSession, runtime: Runtime
) -> None:
    province = await agency_id(session, "pemprov-11")
    office = await agency_id(session, "pemda-11.01")
    elsewhere = await agency_id(session, "pemda-32.01")
    coordinator = Principal(
        kind=PrincipalKind.user,
        role=Role.coordinator,
        subject="c",
        agency_id=province,
        agency_ids=(province, office),
    )
    async with service_client(create_app(runtime.settings), runtime, coordinator) as client:
        own = await client.get(f"/api/v1/stats/agencies/{office}")
        other = await client.get(f"/api/v1/stats/agencies/{elsewhere}")
        regions = await client.get("/api/v1/stats/regions")

    assert own.status_code == 200, own.text
    assert other.status_code == 404
    assert regions.status_code == 403


async def exported(session: AsyncSession) -> tuple[str, str]:
    open_ = await add_complaint(
        session,
        region_code="11.01.01",
        reporter_email="budi@example.id",
        reporter_name="Budi",
        address='=HYPERLINK("http://evil.example","klik")',
    )
    secret = await add_complaint(
        session,
        region_code="11.01.01",
        confidential=True,
        title="Pungutan liar di kantor desa",
        category="korupsi_pungli",
    )
    await session.commit()
    return open_.tracking_id, secret.tracking_id


def rows_of(text: str) -> dict[str, dict[str, str]]:
    return {row["tracking_id"]: row for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}


async def test_ops_exports_carry_no_personal_data(
    session: AsyncSession, ops: httpx.AsyncClient
) -> None:
    open_, secret = await exported(session)

    response = await ops.get("/api/v1/exports/complaints.csv", params={"region": "11.01"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = rows_of(response.text)
    assert "reporter_email" not in rows[open_]
    assert "budi@example.id" not in response.text
    assert rows[open_]["title"] == "Jalan berlubang di depan Pasar Bakongan"
    assert rows[secret]["title"] == ""  # confidential: no content for ops
    assert rows[secret]["status_label"] == "Belum Terverifikasi"
    # A reporter's text that a spreadsheet would run as a formula stays text.
    assert rows[open_]["address"] == '\'=HYPERLINK("http://evil.example","klik")'


async def test_admin_exports_have_every_column_and_the_filters_apply(
    session: AsyncSession, admin: httpx.AsyncClient
) -> None:
    open_, secret = await exported(session)

    everything = await admin.get("/api/v1/exports/complaints.csv", params={"region": "11.01"})
    narrowed = await admin.get(
        "/api/v1/exports/complaints.csv",
        params={"region": "11.01", "category": "korupsi_pungli", "status": ["submitted"]},
    )

    rows = rows_of(everything.text)
    assert rows[open_]["reporter_email"] == "budi@example.id"
    assert rows[secret]["title"] == "Pungutan liar di kantor desa"
    assert secret in rows_of(narrowed.text)
    assert open_ not in rows_of(narrowed.text)


async def test_the_xlsx_export_is_a_workbook_with_the_rows(
    session: AsyncSession, ops: httpx.AsyncClient
) -> None:
    open_, _secret = await exported(session)

    response = await ops.get("/api/v1/exports/complaints.xlsx", params={"region": "11.01"})

    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    # constant_memory mode writes the strings inline in the sheet.
    assert open_ in sheet
    assert "tracking_id" in sheet
    assert "budi@example.id" not in sheet
    assert "<f>" not in sheet  # the address is a string, not a formula


async def test_a_reversed_export_period_is_a_field_error(ops: httpx.AsyncClient) -> None:
    response = await ops.get(
        "/api/v1/exports/complaints.csv", params={"from": "2026-02-01", "to": "2026-01-01"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/from"


async def test_a_refresh_in_small_batches_misses_no_event_of_the_same_instant(
    session: AsyncSession, runtime: Runtime
) -> None:
    at = NOW - timedelta(days=1)
    complaints = [
        await add_complaint(session, status="in_progress", created_at=at) for _ in range(3)
    ]
    for complaint in complaints:
        await add_timeline(session, complaint, [("complaint.accepted", at, {})])
    # Past the one-time backfill: only the events bring complaints in.
    await StatsRepository(session).set_watermark(BACKFILLED, NOW)
    await session.commit()
    settings = runtime.settings.model_copy(update={"stats_refresh_batch": 2})

    await refresh(
        Runtime(settings, runtime.engine, runtime.sessionmaker, runtime.redis, runtime.publisher)
    )

    for complaint in complaints:
        assert (await facts_of(session, complaint.id)).status == "in_progress"
