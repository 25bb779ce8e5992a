"""The SLA sweep: warnings, breaches, reminders, escalation up the hierarchy, the reply window."""

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from routing.sla.clocks import ClockService
from routing.sla.sweep import SweepService, sweep
from services.clock import set_offset
from services.domain.calendar import local_day, nth_working_day_after
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.models import Complaint, ComplaintAgency, Event
from services.models.routing import ComplaintClock
from services.runtime import Runtime
from services.settings import Settings
from tests.factories import add_complaint, add_office, assign

# Monday 2 March 2026, 10:00 WIB: no holiday for weeks.
MONDAY = datetime(2026, 3, 2, 3, tzinfo=UTC)


def sweep_settings(runtime: Runtime, **changes: object) -> Settings:
    # A large batch: the test database may hold other tests' committed clocks.
    return runtime.settings.model_copy(update={"sla_sweep_batch": 100_000, **changes})


async def clocks_hear(
    session: AsyncSession,
    runtime: Runtime,
    complaint: Complaint,
    type_: EventType,
    at: datetime,
    actor: tuple[str, str | None] = ("user", "staff"),
) -> None:
    """The clock service handles an event of `complaint` as the routing worker would."""
    await ClockService(session, runtime.settings).on_event(
        EventEnvelope(
            id=uuid.uuid4(),
            type=type_.value,
            occurred_at=at,
            complaint_id=complaint.id,
            actor_kind=actor[0],
            actor_id=actor[1],
            data={},
            trace_id=None,
        )
    )


async def dispositioned_to(
    session: AsyncSession, runtime: Runtime, agency_code: str, **fields: Any
) -> Complaint:
    complaint = await add_complaint(session, status="dispositioned", **fields)
    await assign(session, complaint, agency_code)
    await clocks_hear(
        session,
        runtime,
        complaint,
        EventType.complaint_dispositioned,
        MONDAY,
        actor=("system", "routing"),
    )
    await session.flush()
    return complaint


async def run_sweep(session: AsyncSession, settings: Settings, now: datetime) -> int:
    taken = await SweepService(session, settings, now).run_batch()
    await session.flush()
    return taken


async def events_of(session: AsyncSession, complaint: Complaint) -> list[Event]:
    rows = await session.scalars(
        select(Event).where(Event.complaint_id == complaint.id).order_by(Event.id)
    )
    return list(rows)


async def clock(session: AsyncSession, complaint: Complaint, kind: str) -> ComplaintClock:
    found = await session.scalar(
        select(ComplaintClock)
        .where(ComplaintClock.complaint_id == complaint.id, ComplaintClock.kind == kind)
        .execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def test_an_office_that_never_acts_climbs_the_hierarchy_one_breach_at_a_time(
    session: AsyncSession, runtime: Runtime
) -> None:
    settings = sweep_settings(runtime)
    office = await add_office(session, "pemda-11.01", "dinas_pupr")
    # A supervisory pengaduan: completion 60 days, so only first_response breaches here.
    complaint = await dispositioned_to(session, runtime, office.code, category="korupsi_pungli")
    first = await clock(session, complaint, "first_response")

    # At 80 %: a warning, nothing else.
    await run_sweep(session, settings, first.warn_at + timedelta(seconds=1))
    assert [e.type for e in await events_of(session, complaint)] == ["complaint.sla_warning"]
    assert (await clock(session, complaint, "first_response")).next_check_at == first.due_at

    chain = ["pemda-11.01", "pemprov-11", "kemendagri"]
    for level, above in enumerate(chain, start=1):
        previous_due = (await clock(session, complaint, "first_response")).due_at
        await run_sweep(session, settings, previous_due + timedelta(seconds=1))
        escalated = [
            e for e in await events_of(session, complaint) if e.type == "complaint.escalated"
        ]
        assert len(escalated) == level
        assert escalated[-1].data["to"]["code"] == above
        assert escalated[-1].data["level"] == level
        assert escalated[-1].actor_kind == "system" and escalated[-1].actor_id == "routing"
        assert escalated[-1].data["reason"].startswith("tenggat first_response terlewati")
        rearmed = await clock(session, complaint, "first_response")
        assert rearmed.due_at > previous_due  # re-armed for the level above

    await session.refresh(complaint)
    assert complaint.escalation_level == 3
    watching = await session.scalars(
        select(ComplaintAgency).where(
            ComplaintAgency.complaint_id == complaint.id, ComplaintAgency.role == "escalation"
        )
    )
    assert sorted(a.agency.code for a in watching) == sorted(chain)
    types = [e.type for e in await events_of(session, complaint)]
    assert types.count("complaint.sla_breached") == 3
    assert types[:4] == [
        "complaint.sla_warning",
        "complaint.sla_breached",
        "complaint.reminder",
        "complaint.escalated",
    ]

    # At the top (the ministry has no parent): a breach, a reminder, no escalation.
    top = await clock(session, complaint, "first_response")
    await run_sweep(session, settings, top.due_at + timedelta(seconds=1))
    types = [e.type for e in await events_of(session, complaint)]
    assert types.count("complaint.escalated") == 3
    assert types.count("complaint.sla_breached") == 4


async def test_reminders_every_n_working_days_up_to_the_maximum(
    session: AsyncSession, runtime: Runtime
) -> None:
    settings = sweep_settings(
        runtime,
        sla_escalation_enabled=False,
        sla_reminder_every_working_days=2,
        sla_reminder_max=3,
    )
    complaint = await dispositioned_to(session, runtime, "pemda-11.01", category="korupsi_pungli")
    first = await clock(session, complaint, "first_response")
    # Due at the end of Monday 9 March (WIB); breached just after it.
    await run_sweep(session, settings, first.due_at + timedelta(seconds=1))
    # Reminders at the start of the 2nd and 4th working day after the breach day (Tue 10
    # March): Thu 12 and Mon 16 March, 00:00 WIB; then no more (three in all).
    for day in (12, 16, 18, 30):
        await run_sweep(session, settings, datetime(2026, 3, day, tzinfo=UTC))
    reminders = [e for e in await events_of(session, complaint) if e.type == "complaint.reminder"]
    assert [e.data["reminder"] for e in reminders] == [1, 2, 3]
    assert all(e.data["agency"]["code"] == "pemda-11.01" for e in reminders)
    done = await clock(session, complaint, "first_response")
    assert done.reminders_sent == 3
    assert done.next_check_at is None  # nothing left to do: off the sweep's index


async def test_an_elapsed_reply_window_resolves_the_complaint(
    session: AsyncSession, runtime: Runtime
) -> None:
    settings = sweep_settings(runtime)
    complaint = await dispositioned_to(session, runtime, "pemda-11.01")
    complaint.status = "responded"
    assignment = await session.scalar(
        select(ComplaintAgency).where(ComplaintAgency.complaint_id == complaint.id)
    )
    assert assignment is not None
    assignment.status = "responded"
    await session.flush()
    await clocks_hear(
        session, runtime, complaint, EventType.complaint_followed_up, MONDAY + timedelta(days=1)
    )
    await session.flush()
    window = await clock(session, complaint, "reply_window")
    await run_sweep(session, settings, window.due_at + timedelta(seconds=1))

    await session.refresh(complaint)
    assert complaint.status == "resolved"
    resolved = [e for e in await events_of(session, complaint) if e.type == "complaint.resolved"]
    assert [(e.data["reason"], e.data["previous_status"]) for e in resolved] == [
        ("reply window elapsed", "responded")
    ]
    assert (await clock(session, complaint, "reply_window")).stopped_at is not None


async def test_a_late_verification_is_the_national_admins_and_escalates_nowhere(
    session: AsyncSession, runtime: Runtime
) -> None:
    settings = sweep_settings(runtime)
    complaint = await add_complaint(session, status="submitted")
    await clocks_hear(
        session,
        runtime,
        complaint,
        EventType.complaint_submitted,
        MONDAY,
        actor=("anonymous", None),
    )
    await session.flush()
    verification = await clock(session, complaint, "verification")
    await run_sweep(session, settings, verification.due_at + timedelta(seconds=1))
    events = await events_of(session, complaint)
    assert [e.type for e in events] == ["complaint.sla_breached", "complaint.reminder"]
    assert events[0].data["notify"] == "national_admins"
    assert events[0].data["agency"] is None
    await session.refresh(complaint)
    assert complaint.escalation_level == 0


async def test_the_sweep_follows_the_travelled_clock_and_reads_due_rows_by_the_index(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await dispositioned_to(session, runtime, "pemda-11.01", category="korupsi_pungli")
    first = await clock(session, complaint, "first_response")
    await session.commit()  # (a savepoint: the test's transaction is still rolled back)
    travelling = dataclasses.replace(
        runtime, settings=sweep_settings(runtime, time_travel_enabled=True)
    )
    # Real time is long past MONDAY's deadlines: travel backwards to just before the warning.
    before_warning = first.warn_at - timedelta(minutes=1) - datetime.now(UTC)
    await set_offset(travelling.settings, travelling.redis, before_warning)
    await sweep(travelling)
    assert await events_of(session, complaint) == []
    await set_offset(travelling.settings, travelling.redis, before_warning + timedelta(minutes=2))
    await sweep(travelling)
    assert [e.type for e in await events_of(session, complaint)] == ["complaint.sla_warning"]

    # The due query can use the partial index (forced: the test table is tiny).
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        (
            await session.execute(
                text(
                    "EXPLAIN SELECT * FROM complaint_clocks WHERE stopped_at IS NULL "
                    "AND paused_at IS NULL AND next_check_at <= now() "
                    "ORDER BY next_check_at LIMIT 10 FOR UPDATE SKIP LOCKED"
                )
            )
        ).scalars()
    )
    assert "ix_complaint_clocks_due" in plan


async def test_two_sweeps_at_once_never_act_on_the_same_clock(
    engine: AsyncEngine, runtime: Runtime
) -> None:
    """Two replicas' sweeps in concurrent transactions: SKIP LOCKED gives each clock to one."""
    settings = sweep_settings(runtime)
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        complaint = await dispositioned_to(setup, runtime, "pemda-11.01")
        first = await clock(setup, complaint, "first_response")
        await setup.commit()
    now = first.due_at + timedelta(seconds=1)
    try:
        async with (
            AsyncSession(engine) as one,
            AsyncSession(engine) as other,
        ):
            taken_one = await SweepService(one, settings, now).run_batch()
            await one.flush()  # holds its rows' locks until it commits
            taken_other = await SweepService(other, settings, now).run_batch()
            await other.commit()
            await one.commit()
        assert taken_one >= 1 and taken_other == 0  # the due clock went to one sweep only
        async with AsyncSession(engine) as check:
            types = [e.type for e in await events_of(check, complaint)]
        assert types.count("complaint.sla_breached") == 1
        assert types.count("complaint.escalated") == 1
    finally:
        async with engine.begin() as conn:
            for table in ("events", "complaint_clocks", "complaint_agencies"):
                await conn.execute(
                    text(f"DELETE FROM {table} WHERE complaint_id = :id"), {"id": complaint.id}
                )
            await conn.execute(text("DELETE FROM complaints WHERE id = :id"), {"id": complaint.id})


async def hold_of(session: AsyncSession, complaint: Complaint) -> tuple[Any, ...]:
    """(status, held_from_status, resume_on) as stored now."""
    await session.refresh(complaint)
    return (complaint.status, complaint.held_from_status, complaint.resume_on)


async def test_a_held_complaint_comes_back_on_its_day_with_its_clocks(
    session: AsyncSession, runtime: Runtime
) -> None:
    complaint = await dispositioned_to(session, runtime, "pemda-11.01")
    before = await clock(session, complaint, "first_response")
    due_before = before.due_at
    # Held by its agency on Monday until Thursday 5 March, as the inbox's hold leaves it.
    complaint.status, complaint.held_from_status = "on_hold", "dispositioned"
    complaint.resume_on = date(2026, 3, 5)
    await clocks_hear(
        session, runtime, complaint, EventType.complaint_held, MONDAY + timedelta(hours=1)
    )
    await session.commit()  # (a savepoint: the test's transaction is still rolled back)
    assert (await clock(session, complaint, "first_response")).paused_at is not None
    travelling = dataclasses.replace(
        runtime, settings=sweep_settings(runtime, time_travel_enabled=True)
    )

    # Wednesday 23:00 WIB: still held.
    await set_offset(
        travelling.settings,
        travelling.redis,
        datetime(2026, 3, 4, 16, tzinfo=UTC) - datetime.now(UTC),
    )
    await sweep(travelling)
    assert await hold_of(session, complaint) == ("on_hold", "dispositioned", date(2026, 3, 5))

    # Thursday 00:30 WIB (still Wednesday in UTC): back where it was held, by the sweep.
    await set_offset(
        travelling.settings,
        travelling.redis,
        datetime(2026, 3, 4, 17, 30, tzinfo=UTC) - datetime.now(UTC),
    )
    await sweep(travelling)
    assert await hold_of(session, complaint) == ("dispositioned", None, None)
    resumed = [e for e in await events_of(session, complaint) if e.type == "complaint.resumed"]
    assert len(resumed) == 1
    assert (resumed[0].actor_kind, resumed[0].actor_id) == ("system", "routing")
    assert resumed[0].data["reason"] == "tunda sampai 2026-03-05: dilanjutkan otomatis"
    assert resumed[0].data["previous_status"] == "on_hold"
    assert [a["code"] for a in resumed[0].data["agencies"]] == ["pemda-11.01"]
    # Its clocks run again, due later by the working days the hold took (2, 3 and 4 March).
    after = await clock(session, complaint, "first_response")
    assert after.paused_at is None
    assert local_day(after.due_at, after.timezone) == nth_working_day_after(
        local_day(due_before, after.timezone), 3
    )

    # Once is enough: the next run finds nothing more to resume.
    await sweep(travelling)
    again = [e for e in await events_of(session, complaint) if e.type == "complaint.resumed"]
    assert len(again) == 1
