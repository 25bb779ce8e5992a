"""SLA clocks follow the complaint's events: start, pause, resume, move, stop (routing/sla)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.sla.clocks import ClockService
from services.domain.calendar import local_day
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.models import Complaint, ComplaintAgency
from services.models.routing import ComplaintClock
from services.runtime import Runtime
from tests.factories import add_complaint, add_office, assign

# Friday 13 March 2026, 22:30 in Jayapura (WIT) = 13:30 UTC.
FRIDAY_EVENING_WIT = datetime(2026, 3, 13, 13, 30, tzinfo=UTC)


def envelope(type_: EventType, complaint: Complaint, at: datetime) -> EventEnvelope:
    return EventEnvelope(
        id=uuid.uuid4(),
        type=type_.value,
        occurred_at=at,
        complaint_id=complaint.id,
        actor_kind="system",
        actor_id="test",
        data={},
        trace_id=None,
    )


async def clocks_of(session: AsyncSession, complaint: Complaint) -> list[ComplaintClock]:
    rows = await session.scalars(
        select(ComplaintClock)
        .where(ComplaintClock.complaint_id == complaint.id)
        .order_by(ComplaintClock.started_at, ComplaintClock.kind)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def on(
    session: AsyncSession, runtime: Runtime, type_: EventType, complaint: Complaint, at: datetime
) -> None:
    await ClockService(session, runtime.settings).on_event(envelope(type_, complaint, at))
    await session.flush()


def running(clocks: list[ComplaintClock]) -> dict[str, ComplaintClock]:
    return {c.kind: c for c in clocks if c.stopped_at is None}


async def test_a_submitted_complaint_awaiting_the_admins_gets_a_verification_clock(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="submitted")
    # Tuesday 17 March 2026, 10:00 WIB: day 1 Wed 25 (18–24 off), day 2 Thu 26, day 3 Fri 27.
    await on(
        session,
        runtime,
        EventType.complaint_submitted,
        complaint,
        datetime(2026, 3, 17, 3, tzinfo=UTC),
    )
    [clock] = await clocks_of(session, complaint)
    assert (clock.kind, clock.agency_id, clock.timezone, clock.working_days) == (
        "verification",
        None,
        "Asia/Jakarta",
        3,
    )
    assert local_day(clock.due_at, "Asia/Jakarta") == date(2026, 3, 27)
    assert clock.warn_at < clock.due_at
    assert clock.next_check_at == clock.warn_at

    await on(
        session,
        runtime,
        EventType.complaint_verified,
        complaint,
        datetime(2026, 3, 25, 3, tzinfo=UTC),
    )
    [clock] = await clocks_of(session, complaint)
    assert clock.stopped_at is not None


async def test_an_automatically_verified_complaint_gets_no_verification_clock(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="dispositioned")
    await on(session, runtime, EventType.complaint_submitted, complaint, FRIDAY_EVENING_WIT)
    assert await clocks_of(session, complaint) == []


async def test_a_disposition_to_jayapura_late_on_friday_is_due_by_jayapura_s_calendar(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(
        session, status="dispositioned", region_code="91.71.01", report_type="pengaduan"
    )
    agency = await assign(session, complaint, "pemda-91.71")
    assert agency.timezone == "Asia/Jayapura"
    await on(session, runtime, EventType.complaint_dispositioned, complaint, FRIDAY_EVENING_WIT)

    clocks = running(await clocks_of(session, complaint))
    assert set(clocks) == {"first_response", "completion"}
    first = clocks["first_response"]
    assert (first.agency_id, first.timezone, first.working_days) == (
        agency.id,
        "Asia/Jayapura",
        5,
    )
    # In Jayapura Friday 13 does not count; Mon 16 and Tue 17 are days 1–2; Wed 18 – Tue 24
    # are Nyepi, Idul Fitri and cuti bersama; Wed 25, Thu 26, Fri 27 are days 3–5: due at the
    # end of Friday 27 March 2026, Jayapura time (14:59:59.999999 UTC).
    assert first.due_at == datetime(2026, 3, 27, 14, 59, 59, 999999, tzinfo=UTC)
    # Completion of a pengaduan: 14 working days → Mon 30, Tue 31 Mar, Wed 1, Thu 2 Apr
    # (days 6–9), Fri 3 April is Good Friday, then Mon 6 – Fri 10 (10–14): end of 10 April.
    completion = clocks["completion"]
    assert completion.working_days == 14
    assert local_day(completion.due_at, "Asia/Jayapura") == date(2026, 4, 10)


async def test_supervisory_pengaduan_gets_sixty_working_days(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="dispositioned", category="korupsi_pungli")
    await assign(session, complaint, "pemda-11.01")
    await on(session, runtime, EventType.complaint_dispositioned, complaint, FRIDAY_EVENING_WIT)
    assert running(await clocks_of(session, complaint))["completion"].working_days == 60


async def test_a_hold_pauses_and_the_resume_adds_the_working_days_lost(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="dispositioned")
    await assign(session, complaint, "pemda-11.01")
    start = datetime(2026, 3, 2, 3, tzinfo=UTC)  # Monday 2 March, 10:00 WIB
    await on(session, runtime, EventType.complaint_dispositioned, complaint, start)
    before = {k: c.due_at for k, c in running(await clocks_of(session, complaint)).items()}
    # 5 working days after Monday 2 March: Tue 3 … Mon 9 March.
    assert local_day(before["first_response"], "Asia/Jakarta") == date(2026, 3, 9)

    # Held Wednesday 4 March, resumed Monday 9 March: Wed, Thu, Fri lost (3 working days).
    await on(
        session, runtime, EventType.complaint_held, complaint, datetime(2026, 3, 4, 3, tzinfo=UTC)
    )
    paused = running(await clocks_of(session, complaint))
    assert all(c.paused_at is not None for c in paused.values())
    await on(
        session,
        runtime,
        EventType.complaint_resumed,
        complaint,
        datetime(2026, 3, 9, 3, tzinfo=UTC),
    )
    after = running(await clocks_of(session, complaint))
    assert all(c.paused_at is None for c in after.values())
    # Mon 9 + 3 working days: Tue 10, Wed 11, Thu 12 March.
    assert local_day(after["first_response"].due_at, "Asia/Jakarta") == date(2026, 3, 12)
    assert after["first_response"].next_check_at == after["first_response"].warn_at


async def test_a_disposition_starts_no_clocks_for_an_agency_past_assigned(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="responded", region_code="91.71.01")
    await assign(session, complaint, "pemda-91.71", status="responded")
    await on(session, runtime, EventType.complaint_dispositioned, complaint, FRIDAY_EVENING_WIT)
    # Clocks start for new (assigned) handlers only: a repeated event restarts nothing.
    assert running(await clocks_of(session, complaint)) == {}


async def test_a_follow_up_stops_the_first_response_clock_and_opens_the_reply_window(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="dispositioned", region_code="91.71.01")
    await assign(session, complaint, "pemda-91.71")
    await on(session, runtime, EventType.complaint_dispositioned, complaint, FRIDAY_EVENING_WIT)
    assignment = await session.scalar(
        select(ComplaintAgency).where(ComplaintAgency.complaint_id == complaint.id)
    )
    assert assignment is not None
    assignment.status = "responded"
    await session.flush()

    followed = datetime(2026, 3, 16, 1, tzinfo=UTC)  # Monday 16 March, 10:00 WIT
    await on(session, runtime, EventType.complaint_followed_up, complaint, followed)
    clocks = running(await clocks_of(session, complaint))
    assert set(clocks) == {"completion", "reply_window"}
    window = clocks["reply_window"]
    assert (window.agency_id, window.timezone, window.working_days) == (None, "Asia/Jayapura", 10)
    # 10 working days after Monday 16: Tue 17, then Wed 25 … Tue 7 April (Good Friday 3 off):
    # 25, 26, 27, 30, 31 March, 1, 2, 6, 7 April → the 10th is Tuesday 7 April.
    assert local_day(window.due_at, "Asia/Jayapura") == date(2026, 4, 7)

    await on(session, runtime, EventType.complaint_resolved, complaint, followed)
    assert running(await clocks_of(session, complaint)) == {}


async def test_a_return_stops_the_returning_agency_s_clocks(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="dispositioned")
    await assign(session, complaint, "pemda-11.01")
    await on(session, runtime, EventType.complaint_dispositioned, complaint, FRIDAY_EVENING_WIT)
    assignment = await session.scalar(
        select(ComplaintAgency).where(ComplaintAgency.complaint_id == complaint.id)
    )
    assert assignment is not None
    assignment.status, assignment.active = "returned", False
    await session.flush()
    await on(session, runtime, EventType.complaint_returned, complaint, FRIDAY_EVENING_WIT)
    assert running(await clocks_of(session, complaint)) == {}

    # Re-dispositioned to the right agency: its clocks start.
    right = await assign(session, complaint, "pemda-32.73")
    later = FRIDAY_EVENING_WIT + timedelta(hours=1)
    await on(session, runtime, EventType.complaint_dispositioned, complaint, later)
    clocks = running(await clocks_of(session, complaint))
    assert {c.agency_id for c in clocks.values()} == {right.id}


async def test_a_delegation_moves_the_clocks_to_the_office_with_their_due_times(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await add_complaint(session, status="dispositioned")
    regency = await assign(session, complaint, "pemda-11.01")
    await on(session, runtime, EventType.complaint_dispositioned, complaint, FRIDAY_EVENING_WIT)
    before = {k: c.due_at for k, c in running(await clocks_of(session, complaint)).items()}

    office = await add_office(session, "pemda-11.01", "dinas_pupr")
    coordinator = await session.scalar(
        select(ComplaintAgency).where(
            ComplaintAgency.complaint_id == complaint.id,
            ComplaintAgency.agency_id == regency.id,
        )
    )
    assert coordinator is not None
    coordinator.status = "delegated"
    fields: dict[str, Any] = {"source_id": coordinator.id}
    await assign(session, complaint, office.code, **fields)
    await on(
        session,
        runtime,
        EventType.complaint_delegated,
        complaint,
        FRIDAY_EVENING_WIT + timedelta(days=1),
    )
    clocks = await clocks_of(session, complaint)
    assert len(clocks) == 2  # moved, not started anew
    assert {c.agency_id for c in clocks if c.stopped_at is None} == {office.id}
    assert {c.kind: c.due_at for c in clocks} == before
    # The office returns it (bukan wewenang): back to the coordinator, clocks and all.
    office_assignment = await session.scalar(
        select(ComplaintAgency).where(
            ComplaintAgency.complaint_id == complaint.id,
            ComplaintAgency.agency_id == office.id,
        )
    )
    assert office_assignment is not None
    office_assignment.status, office_assignment.active = "returned", False
    coordinator.status = "assigned"
    await session.flush()
    await on(
        session,
        runtime,
        EventType.complaint_returned,
        complaint,
        FRIDAY_EVENING_WIT + timedelta(days=2),
    )
    clocks = await clocks_of(session, complaint)
    assert len(clocks) == 2
    assert {c.agency_id for c in clocks if c.stopped_at is None} == {regency.id}
    assert {c.kind: c.due_at for c in clocks} == before
