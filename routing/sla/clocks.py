"""SLA clocks follow the complaint's events: started, paused, resumed, moved and stopped here.
Never commits. The sweep (routing/sla/sweep.py) raises the deadline events.

| event | clocks |
|---|---|
| submitted | start verification (the national admins', counted in WIB) |
| verified | stop verification |
| archived | stop every clock (archived and duplicate are final) |
| held, info_requested | pause every running clock |
| resumed | resume them: due and warning move by the working days the pause covered |
| dispositioned | start first_response and completion per new handler agency, in its zone |
| accepted, escalated | nothing |
| followed_up | stop first_response (of the agencies that responded), start reply_window |
| resolved | stop every clock |
| returned | stop departed agencies' clocks (an office's go back to its coordinator) |
| delegated | the office takes over its coordinator's clocks, due times unchanged |
| reporter_replied | stop reply_window (the agency's completion clock runs on) |
| resolution_accepted, marked_duplicate | stop every clock |
| reopened | start first_response and completion again per handler agency, from the reopening |

A delegation *moves* the clocks: the reporter's deadline does not restart because an agency
handed the work to one of its own offices."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from routing.sla.repository import AssignmentRepository, ClockRepository, ComplaintReadRepository
from services.domain.calendar import (
    add_working_days,
    local_day,
    nth_working_day_after,
    shift_working_days,
    start_of_day,
    working_days_between,
)
from services.domain.lifecycle import Status
from services.domain.regions import timezone_of
from services.domain.sla import VERIFICATION_TIMEZONE, deadlines, working_days_of
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.models import ComplaintAgency
from services.models.complaint import AssignmentRole, AssignmentStatus
from services.models.routing import ClockKind, ComplaintClock
from services.settings import Settings

AGENCY_CLOCKS = (ClockKind.first_response, ClockKind.completion)
# An assignment in these statuses still owes the work.
HANDLING = frozenset(
    {AssignmentStatus.assigned, AssignmentStatus.accepted, AssignmentStatus.responded}
)


def new_clock_id() -> uuid.UUID:
    return uuid.uuid4()


def next_reminder_at(clock: ComplaintClock, every_working_days: int) -> datetime | None:
    """The start (00:00 local) of the working day `every` × (reminders sent) working days
    after the last breach; None before a breach."""
    if clock.breached_at is None:
        return None
    day = nth_working_day_after(
        local_day(clock.breached_at, clock.timezone), every_working_days * clock.reminders_sent
    )
    return start_of_day(day, clock.timezone)


def schedule(clock: ComplaintClock, settings: Settings) -> None:
    """Set `next_check_at`: the warning, the breach of the current due time, or the next
    reminder, whichever comes first; None when nothing is left to do."""
    candidates: list[datetime] = []
    if clock.warned_at is None and clock.warn_at < clock.due_at:
        candidates.append(clock.warn_at)
    if clock.breached_at is None or clock.breached_at < clock.due_at:
        candidates.append(clock.due_at)
    if clock.breached_at is not None and clock.reminders_sent < settings.sla_reminder_max:
        reminder = next_reminder_at(clock, settings.sla_reminder_every_working_days)
        if reminder is not None:
            candidates.append(reminder)
    clock.next_check_at = min(candidates) if candidates else None


def arm(clock: ComplaintClock, start: datetime, settings: Settings) -> None:
    """(Re)set the warning and due time from `start`, by the clock's working days."""
    clock.warn_at, clock.due_at = deadlines(
        start, clock.working_days, clock.timezone, settings.sla_warning_fraction
    )
    clock.warned_at = None
    schedule(clock, settings)


def new_clock(
    complaint_id: uuid.UUID,
    kind: ClockKind,
    *,
    agency_id: uuid.UUID | None,
    timezone: str,
    working_days: int,
    start: datetime,
    settings: Settings,
) -> ComplaintClock:
    clock = ComplaintClock(
        id=new_clock_id(),
        complaint_id=complaint_id,
        agency_id=agency_id,
        kind=kind.value,
        timezone=timezone,
        working_days=working_days,
        started_at=start,
        reminders_sent=0,
    )
    arm(clock, start, settings)
    return clock


class ClockService:
    """`on_event(event)` for every event routing receives (after its other handling)."""

    def __init__(
        self, session: AsyncSession, settings: Settings, offset: timedelta = timedelta(0)
    ) -> None:
        self.session = session
        self.settings = settings
        # Time travel (tests): the platform clock's offset, so clocks and sweep agree.
        self.offset = offset
        self.clocks = ClockRepository(session)
        self.complaints = ComplaintReadRepository(session)
        self.assignments = AssignmentRepository(session)

    async def on_event(self, event: EventEnvelope) -> None:
        if event.complaint_id is None:
            return
        at = event.occurred_at + self.offset
        complaint_id = event.complaint_id
        match event.type:
            case EventType.complaint_submitted:
                await self.start_verification(complaint_id, at)
            case EventType.complaint_verified:
                await self.clocks.stop(complaint_id, at, [ClockKind.verification])
            case EventType.complaint_archived:
                await self.clocks.stop(complaint_id, at)  # archived (or duplicate) is the end
            case EventType.complaint_held | EventType.complaint_info_requested:
                await self.pause(complaint_id, at)
            case EventType.complaint_resumed:
                await self.resume(complaint_id, at)
            case EventType.complaint_dispositioned:
                await self.start_agency_clocks(complaint_id, at)
            case EventType.complaint_followed_up:
                await self.followed_up(complaint_id, at)
            case EventType.complaint_resolved:
                await self.clocks.stop(complaint_id, at)
            case EventType.complaint_returned:
                await self.drop_departed(complaint_id, at)
            case EventType.complaint_delegated:
                await self.delegated(complaint_id, at)
            # convo: the reporter's answers and a verifier's duplicate mark
            case EventType.complaint_reporter_replied:
                await self.clocks.stop(complaint_id, at, [ClockKind.reply_window])
            case EventType.complaint_resolution_accepted | EventType.complaint_marked_duplicate:
                await self.clocks.stop(complaint_id, at)
            case EventType.complaint_reopened:
                await self.reopened(complaint_id, at)
            case _:
                pass  # accepted, escalated and the sweep's own events change no clock

    async def stop_verification(self, complaint_ids: list[uuid.UUID], at: datetime) -> None:
        if complaint_ids:
            await self.clocks.stop_verification(complaint_ids, at)

    async def start_first_agency_clocks(self, event: EventEnvelope) -> None:
        """`start_agency_clocks` for a first disposition, from the event's own data (report
        type, category, the agencies it names): no clock of an agency can be running yet."""
        if event.complaint_id is None:
            return
        at = event.occurred_at + self.offset
        report_type, category = event.data["report_type"], event.data["category"]
        override = await self.complaints.completion_override(category)
        for agency in event.data["agencies"]:
            agency_id = uuid.UUID(agency["id"])
            timezone = await self.clocks.agency_timezone(agency_id)
            if timezone is None:
                continue
            for kind in AGENCY_CLOCKS:
                self.clocks.add(
                    new_clock(
                        event.complaint_id,
                        kind,
                        agency_id=agency_id,
                        timezone=timezone,
                        working_days=working_days_of(kind, report_type, category, override),
                        start=at,
                        settings=self.settings,
                    )
                )

    async def start_verification(self, complaint_id: uuid.UUID, at: datetime) -> None:
        complaint = await self.complaints.bare(complaint_id)
        # Verified in the same job (the automatic path): no clock to run.
        if complaint is None or complaint.status != Status.submitted:
            return
        self.clocks.add(
            new_clock(
                complaint_id,
                ClockKind.verification,
                agency_id=None,
                timezone=VERIFICATION_TIMEZONE,
                working_days=working_days_of(
                    ClockKind.verification, complaint.report_type, complaint.category_code
                ),
                start=at,
                settings=self.settings,
            )
        )

    async def pause(self, complaint_id: uuid.UUID, at: datetime) -> None:
        for clock in await self.clocks.running(complaint_id):
            if clock.paused_at is None:
                clock.paused_at = at

    async def resume(self, complaint_id: uuid.UUID, at: datetime) -> None:
        for clock in await self.clocks.running(complaint_id):
            if clock.paused_at is None:
                continue
            lost = working_days_between(clock.paused_at, at, clock.timezone)
            if lost:
                clock.due_at = add_working_days(clock.due_at, lost, clock.timezone)
                clock.warn_at = shift_working_days(clock.warn_at, lost, clock.timezone)
            clock.paused_at = None
            schedule(clock, self.settings)

    async def live_handlers(self, complaint_id: uuid.UUID) -> list[ComplaintAgency]:
        return [
            a
            for a in await self.complaints.assignments([complaint_id])
            if a.active and a.role == AssignmentRole.handler and a.status in HANDLING
        ]

    async def start_agency_clocks(self, complaint_id: uuid.UUID, at: datetime) -> None:
        complaint = await self.complaints.bare(complaint_id)
        if complaint is None:
            return
        running = await self.clocks.running(complaint_id, AGENCY_CLOCKS)
        covered = {(c.agency_id, c.kind) for c in running}
        override = await self.complaints.completion_override(complaint.category_code)
        for assignment in await self.live_handlers(complaint_id):
            if assignment.status != AssignmentStatus.assigned:
                continue
            for kind in AGENCY_CLOCKS:
                if (assignment.agency_id, kind.value) in covered:
                    continue
                self.clocks.add(
                    new_clock(
                        complaint_id,
                        kind,
                        agency_id=assignment.agency_id,
                        timezone=assignment.agency.timezone,
                        working_days=working_days_of(
                            kind, complaint.report_type, complaint.category_code, override
                        ),
                        start=at,
                        settings=self.settings,
                    )
                )
        await self.drop_departed(complaint_id, at, running)

    async def drop_departed(
        self,
        complaint_id: uuid.UUID,
        at: datetime,
        running: Sequence[ComplaintClock] | None = None,
    ) -> None:
        """The agency clocks of agencies that no longer handle the complaint (returned) stop;
        an office's go back to the coordinator that delegated to it, when it handles it again."""
        if running is None:
            running = await self.clocks.running(complaint_id, AGENCY_CLOCKS)
        assignments = await self.complaints.assignments([complaint_id])
        live = {
            a.agency_id: a
            for a in assignments
            if a.active and a.role == AssignmentRole.handler and a.status in HANDLING
        }
        by_id = {a.id: a for a in assignments}
        # The delegating assignment behind each departed office, newest last.
        back_to = {
            a.agency_id: by_id[a.source_id]
            for a in assignments
            if not a.active and a.source_id in by_id and by_id[a.source_id].agency_id in live
        }
        for clock in running:
            if clock.agency_id in live:
                continue
            source = back_to.get(clock.agency_id) if clock.agency_id else None
            if source is not None and not any(
                c.agency_id == source.agency_id and c.kind == clock.kind for c in running
            ):
                clock.agency_id = source.agency_id
                clock.timezone = source.agency.timezone
                continue
            clock.stopped_at = at
            clock.next_check_at = None

    async def followed_up(self, complaint_id: uuid.UUID, at: datetime) -> None:
        complaint = await self.complaints.bare(complaint_id)
        if complaint is None:
            return
        assignments = await self.complaints.assignments([complaint_id])
        responded = {
            a.agency_id for a in assignments if a.active and a.status == AssignmentStatus.responded
        }
        running = await self.clocks.running(complaint_id, [ClockKind.first_response])
        for clock in running:
            # The agencies that responded; when the assignments do not say, any follow-up.
            if not responded or clock.agency_id in responded:
                clock.stopped_at = at
                clock.next_check_at = None
        # The reporter's window starts again with each follow-up.
        for clock in await self.clocks.running(complaint_id, [ClockKind.reply_window]):
            clock.stopped_at = at
            clock.next_check_at = None
        self.clocks.add(
            new_clock(
                complaint_id,
                ClockKind.reply_window,
                agency_id=None,
                timezone=timezone_of(complaint.region_code)
                if complaint.region_code
                else VERIFICATION_TIMEZONE,
                working_days=working_days_of(
                    ClockKind.reply_window, complaint.report_type, complaint.category_code
                ),
                start=at,
                settings=self.settings,
            )
        )

    async def delegated(self, complaint_id: uuid.UUID, at: datetime) -> None:
        """Each delegated assignment's clocks move to the office that took it (the handler
        assignment whose source it is), in the office's time zone; due times stay."""
        assignments = await self.complaints.assignments([complaint_id])
        by_source = {
            a.source_id: a
            for a in assignments
            if a.active and a.role == AssignmentRole.handler and a.source_id is not None
        }
        delegated = {
            a.agency_id: by_source[a.id]
            for a in assignments
            if a.status == AssignmentStatus.delegated and a.id in by_source
        }
        running = await self.clocks.running(complaint_id, AGENCY_CLOCKS)
        for clock in running:
            office = delegated.get(clock.agency_id) if clock.agency_id else None
            if office is not None:
                clock.agency_id = office.agency_id
                clock.timezone = office.agency.timezone
        # An office that had none (its coordinator had no clocks) gets them now.
        await self.start_agency_clocks(complaint_id, at)

    async def reopened(self, complaint_id: uuid.UUID, at: datetime) -> None:
        """A reopened complaint is its handlers' work again: each live handler gets a fresh
        first_response (it owes the reporter a new follow-up) and completion clock, counted from
        the reopening (every clock stopped at the resolution)."""
        complaint = await self.complaints.bare(complaint_id)
        if complaint is None:
            return
        running = {(c.agency_id, c.kind) for c in await self.clocks.running(complaint_id)}
        override = await self.complaints.completion_override(complaint.category_code)
        for assignment in await self.live_handlers(complaint_id):
            for kind in AGENCY_CLOCKS:
                if (assignment.agency_id, kind.value) in running:
                    continue
                self.clocks.add(
                    new_clock(
                        complaint_id,
                        kind,
                        agency_id=assignment.agency_id,
                        timezone=assignment.agency.timezone,
                        working_days=working_days_of(
                            kind, complaint.report_type, complaint.category_code, override
                        ),
                        start=at,
                        settings=self.settings,
                    )
                )
