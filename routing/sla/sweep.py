"""The SLA sweep: an arq cron of the routing worker, every `sla_sweep_interval_seconds`.

One effective run across replicas: arq gives each tick of a cron one job id (the name is
namespaced by `services.worker.periodic`), and the rows are taken `FOR UPDATE SKIP LOCKED`, so
two sweeps never act on the same clock. It reads only due rows, through the partial index
`ix_complaint_clocks_due` (running, unpaused, `next_check_at <= now`), in batches of
`sla_sweep_batch`, one transaction each. For each clock:

- at `warn_at`: `complaint.sla_warning`;
- at `due_at`: `complaint.sla_breached`, and a `complaint.reminder` to the agency; a reminder
  again every `sla_reminder_every_working_days` working days (at the start of that day, local),
  up to `sla_reminder_max` per breach;
- an agency clock (first_response, completion) that breaches escalates the complaint one level
  up (office → kabupaten/kota → province → Kemendagri, by `Agency.parent_id`): escalation_level
  + 1, an assignment with role `escalation` for the agency above, `complaint.escalated` naming
  from and to; the clock is then re-armed for the level above (its working days again, from the
  breach), so a complaint nobody acts on climbs one level per breach until the top;
- verification breaches are the national admins' (events only, no agency to escalate to);
- a reply_window that runs out closes the complaint: responded → resolved, "reply window
  elapsed".

Held complaints (tunda) come back by themselves: from the first run on their `resume_on` (the
day as the national platform counts it, WIB) each goes back to the status it was held in, with
`complaint.resumed`, as if its verifier or agency had resumed it (its clocks run again).

Every event's actor is system("routing") with a reason."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from routing.sla.clocks import AGENCY_CLOCKS, arm, next_reminder_at, schedule
from routing.sla.follow import follow_clocks
from routing.sla.repository import (
    AgencyNode,
    AssignmentRepository,
    ClockRepository,
    ComplaintReadRepository,
)
from services.clock import read_offset
from services.complaints import AgencyRef, record_complaint_event, transition
from services.domain.calendar import local_day
from services.domain.lifecycle import Status
from services.domain.sla import VERIFICATION_TIMEZONE
from services.events.catalogue import EventType
from services.logging import get_logger
from services.models import Complaint, ComplaintAgency
from services.models.complaint import AssignmentRole, AssignmentStatus
from services.models.routing import ClockKind, ComplaintClock
from services.principal import SYSTEM_ROUTING
from services.runtime import Runtime
from services.settings import Settings
from services.uow import unit_of_work

log = get_logger(__name__)
MAX_BATCHES_PER_RUN = 20


def agency_json(agency: AgencyNode | AgencyRef) -> dict[str, str]:
    return {"id": str(agency.id), "code": agency.code, "name": agency.name}


class SweepService:
    """One batch of due clocks, in the caller's transaction. Never commits."""

    def __init__(self, session: AsyncSession, settings: Settings, now: datetime) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.clocks = ClockRepository(session)
        self.complaints = ComplaintReadRepository(session)
        self.assignments = AssignmentRepository(session)
        self._assignments: dict[uuid.UUID, list[ComplaintAgency]] = {}

    async def run_batch(self) -> int:
        """Handles up to `sla_sweep_batch` due clocks; returns how many it took."""
        due = await self.clocks.due(self.now, self.settings.sla_sweep_batch)
        if not due:
            return 0
        ids = list({c.complaint_id for c in due})
        complaints = await self.complaints.many(ids)
        await self._load_assignments(ids)
        for clock in due:
            complaint = complaints.get(clock.complaint_id)
            if complaint is None:
                continue
            await self.check(clock, complaint)
        return len(due)

    async def resume_held(self) -> int:
        """Up to `sla_sweep_batch` held complaints whose day to come back has come; returns
        how many it resumed."""
        today = local_day(self.now, VERIFICATION_TIMEZONE)
        held = await self.complaints.held_until(today, self.settings.sla_sweep_batch)
        if not held:
            return 0
        await self._load_assignments([c.id for c in held])
        for complaint in held:
            assert complaint.held_from_status is not None and complaint.resume_on is not None
            transition(
                self.session,
                complaint,
                Status(complaint.held_from_status),
                EventType.complaint_resumed,
                actor=SYSTEM_ROUTING,
                reason=f"tunda sampai {complaint.resume_on.isoformat()}: dilanjutkan otomatis",
                agencies=self.agencies(complaint),
            )
            complaint.held_from_status = None
            complaint.resume_on = None
        return len(held)

    async def _load_assignments(self, complaint_ids: list[uuid.UUID]) -> None:
        for assignment in await self.complaints.assignments(complaint_ids):
            self._assignments.setdefault(assignment.complaint_id, []).append(assignment)

    def agencies(self, complaint: Complaint) -> list[AgencyRef]:
        return [
            AgencyRef(a.agency.id, a.agency.code, a.agency.name)
            for a in self._assignments.get(complaint.id, [])
            if a.active
        ]

    async def check(self, clock: ComplaintClock, complaint: Complaint) -> None:
        now = self.now
        pending_breach = clock.breached_at is None or clock.breached_at < clock.due_at
        if pending_breach and now >= clock.due_at:
            clock.warned_at = clock.warned_at or now  # past due: no warning any more
            await self.breach(clock, complaint)
        else:
            if pending_breach and clock.warned_at is None and now >= clock.warn_at:
                await self.warn(clock, complaint)
            reminder = next_reminder_at(clock, self.settings.sla_reminder_every_working_days)
            if (
                reminder is not None
                and now >= reminder
                and clock.reminders_sent < self.settings.sla_reminder_max
            ):
                await self.remind(clock, complaint)
        if clock.stopped_at is None:
            schedule(clock, self.settings)

    async def owner(self, clock: ComplaintClock) -> dict[str, str] | None:
        if clock.agency_id is None:
            return None
        agency = await self.assignments.agency(clock.agency_id)
        return agency_json(agency) if agency is not None else None

    async def warn(self, clock: ComplaintClock, complaint: Complaint) -> None:
        clock.warned_at = self.now
        record_complaint_event(
            self.session,
            complaint,
            EventType.complaint_sla_warning,
            actor=SYSTEM_ROUTING,
            reason=f"tenggat {clock.kind} segera berakhir",
            agencies=self.agencies(complaint),
            clock=clock.kind,
            agency=await self.owner(clock),
            due_at=clock.due_at.isoformat(),
        )

    async def breach(self, clock: ComplaintClock, complaint: Complaint) -> None:
        if clock.kind == ClockKind.reply_window:
            await self.close_reply_window(clock, complaint)
            return
        due_at = clock.due_at
        clock.breached_at = self.now
        clock.reminders_sent = 0
        owner = await self.owner(clock)
        record_complaint_event(
            self.session,
            complaint,
            EventType.complaint_sla_breached,
            actor=SYSTEM_ROUTING,
            reason=f"tenggat {clock.kind} terlewati",
            agencies=self.agencies(complaint),
            clock=clock.kind,
            agency=owner,
            # Verification is the national admins' to do.
            notify=None if clock.agency_id is not None else "national_admins",
            due_at=due_at.isoformat(),
        )
        await self.remind(clock, complaint)
        if (
            clock.kind in {k.value for k in AGENCY_CLOCKS}
            and self.settings.sla_escalation_enabled
            and await self.escalate(clock, complaint)
        ):
            # Re-armed for the level above: its working days again, from the breach.
            arm(clock, self.now, self.settings)

    async def remind(self, clock: ComplaintClock, complaint: Complaint) -> None:
        if clock.reminders_sent >= self.settings.sla_reminder_max:
            return
        clock.reminders_sent += 1
        record_complaint_event(
            self.session,
            complaint,
            EventType.complaint_reminder,
            actor=SYSTEM_ROUTING,
            reason=f"pengingat {clock.reminders_sent}: tenggat {clock.kind} terlewati",
            agencies=self.agencies(complaint),
            clock=clock.kind,
            agency=await self.owner(clock),
            notify=None if clock.agency_id is not None else "national_admins",
            reminder=clock.reminders_sent,
            due_at=clock.due_at.isoformat(),
        )

    async def escalate(self, clock: ComplaintClock, complaint: Complaint) -> bool:
        """One level above the highest agency watching this clock's agency; False at the top."""
        assert clock.agency_id is not None
        assignments = self._assignments.setdefault(complaint.id, [])
        watching = {
            a.agency_id: a for a in assignments if a.active and a.role == AssignmentRole.escalation
        }
        current = await self.assignments.agency(clock.agency_id)
        if current is None:
            return False
        source = next((a for a in assignments if a.active and a.agency_id == current.id), None)
        while current.parent_id is not None and current.parent_id in watching:
            source = watching[current.parent_id]
            parent = await self.assignments.agency(current.parent_id)
            if parent is None:
                break
            current = parent
        if current.parent_id is None:
            return False
        target = await self.assignments.agency(current.parent_id)
        target_row = await self.assignments.agency_row(current.parent_id)
        if target is None or target_row is None:
            return False
        assignment = ComplaintAgency(
            id=uuid.uuid4(),
            complaint_id=complaint.id,
            agency_id=target.id,
            assigned_at=self.now,
            active=True,
            status=AssignmentStatus.assigned.value,
            role=AssignmentRole.escalation.value,
            source_id=source.id if source is not None else None,
        )
        assignment.agency = target_row
        self.assignments.add(assignment)
        assignments.append(assignment)
        complaint.escalation_level += 1
        record_complaint_event(
            self.session,
            complaint,
            EventType.complaint_escalated,
            actor=SYSTEM_ROUTING,
            reason=f"tenggat {clock.kind} terlewati: eskalasi ke {target.name}",
            agencies=self.agencies(complaint),
            clock=clock.kind,
            level=complaint.escalation_level,
            **{"from": agency_json(current), "to": agency_json(target)},
        )
        return True

    async def close_reply_window(self, clock: ComplaintClock, complaint: Complaint) -> None:
        clock.breached_at = self.now
        clock.stopped_at = self.now
        clock.next_check_at = None
        if complaint.status != Status.responded:
            return
        transition(
            self.session,
            complaint,
            Status.resolved,
            EventType.complaint_resolved,
            actor=SYSTEM_ROUTING,
            reason="reply window elapsed",
            agencies=self.agencies(complaint),
        )


async def sweep(runtime: Runtime) -> int:
    """Sweep every due clock, then resume the held complaints whose day has come (each up to
    MAX_BATCHES_PER_RUN batches); returns how many clocks and complaints it handled."""
    # Read once per run: the platform clock (with the test offset when time travel is on).
    offset = await read_offset(runtime.settings, runtime.redis)
    # A closed reply window stops every clock; a resumed complaint's clocks run again.
    handled = await _in_batches(runtime, offset, SweepService.run_batch)
    resumed = await _in_batches(runtime, offset, SweepService.resume_held)
    if handled or resumed:
        log.info("sla sweep handled %d clocks, resumed %d held complaints", handled, resumed)
    return handled + resumed


async def _in_batches(
    runtime: Runtime, offset: timedelta, step: Callable[[SweepService], Awaitable[int]]
) -> int:
    """`step` in a transaction of its own per batch, until a batch comes back short."""
    settings = runtime.settings
    done = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        now = datetime.now(UTC) + offset
        async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
            follow_clocks(session, settings, runtime.redis)
            taken = await step(SweepService(session, settings, now))
        done += taken
        if taken < settings.sla_sweep_batch:
            break
    return done
