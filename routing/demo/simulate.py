"""One demo complaint's life, lived in memory through the real rules, written later in bulk.

Nothing here decides what a step means: statuses change as `services.complaints.transition`
changes them (the state machine's `check_transition`; the event's data from `complaint_data`,
exactly as the services record it), clocks are made
and re-armed as routing's own `new_clock`/`arm`/`schedule` do (working days, holidays, time zones,
warnings), the agency comes from the disposition engine's decision (made by the caller), and the
SLA sweep's warnings, breaches, reminders, escalations and closed reply windows are a line-by-line
port of `routing/sla/sweep.py` run at each clock's `next_check_at`. Only *when* people act, and
what they decide, is drawn at random: fast agencies answer in a day or two, slow ones let clocks
breach and the complaint climbs the hierarchy.

Events are plain records (`DemoEvent`, the columns `record_event` fills) rather than ORM objects:
a million complaints make about ten million of them.
"""

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from routing.demo.texts import FOLLOW_UPS, RETURN_REASONS
from routing.sla.clocks import AGENCY_CLOCKS, arm, next_reminder_at, schedule
from services.complaints import AgencyRef, complaint_data
from services.domain.calendar import local_day, nth_working_day_after, start_of_day
from services.domain.lifecycle import Status, check_transition
from services.domain.regions import timezone_of
from services.domain.sla import VERIFICATION_TIMEZONE, working_days_of
from services.events.catalogue import EventType
from services.models import Complaint, ComplaintAgency
from services.models.complaint import AssignmentRole, AssignmentStatus
from services.models.routing import ClockKind, ComplaintClock
from services.principal import SYSTEM_ROUTING, Principal, PrincipalKind, Role
from services.settings import Settings


class Plain:
    """A row's columns as plain attributes: the simulation's stand-in for an ORM object. The
    ORM's instrumented attributes took a third of a life's time, and nothing here is flushed
    through a session (the rows are COPYed)."""

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)


T = TypeVar("T")


def plain(model: type[T], **columns: Any) -> T:
    """A `Plain` record typed as `model` (every column given: no ORM defaults apply)."""
    return cast(T, Plain(**columns))


def random_uuid4(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def region_of(complaint: Complaint) -> str:
    """The demo's complaints always name their region (none waits for an admin)."""
    assert complaint.region_code is not None
    return complaint.region_code


# Event types other pieces of the platform add (the conversation): used when present.
RESOLUTION_ACCEPTED = getattr(EventType, "complaint_resolution_accepted", None)
REPORTER_REPLIED = getattr(EventType, "complaint_reporter_replied", None)
RATED = getattr(EventType, "complaint_rated", None)
DEMO_NAMESPACE = uuid.UUID("6f1c1f7e-4d3b-4a52-9a55-0d2f3c1b7a10")


@dataclass(frozen=True)
class DemoAgency:
    id: uuid.UUID
    code: str
    name: str
    timezone: str
    parent_id: uuid.UUID | None
    # 0 (lets everything stall) .. 1 (answers within a day): drawn once per agency.
    quality: float

    @property
    def ref(self) -> AgencyRef:
        return AgencyRef(self.id, self.code, self.name)

    def as_json(self) -> dict[str, str]:
        return {"id": str(self.id), "code": self.code, "name": self.name}


@dataclass(frozen=True)
class Choice:
    """The disposition engine's decision: the agency, its reason and candidate data."""

    agency: DemoAgency
    reason: str
    candidate: dict[str, Any]


# (report type, category, region code, refused agency ids) → the engine's next decision
Decide = Callable[[str, str, str, frozenset[uuid.UUID]], Choice | None]


@dataclass
class DemoEvent:
    """An `events` row as `services.events.outbox.record_event` fills it."""

    id: uuid.UUID
    type: str
    occurred_at: datetime
    complaint_id: uuid.UUID
    actor_kind: str
    actor_role: str | None
    actor_id: str | None
    data: dict[str, Any]
    trace_id: str | None = None
    published_at: datetime | None = None
    settled_at: datetime | None = None
    private_data: dict[str, Any] | None = None  # confidential texts (none in the demo)


@dataclass
class Written:
    """What one complaint's life leaves in the tables."""

    complaint: Complaint
    assignments: list[ComplaintAgency]
    clocks: list[ComplaintClock]
    events: list[DemoEvent]
    follow_ups: list[dict[str, Any]]


def uuid7_at(moment: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 of `moment` (ids sort as the events happened, as the live platform's do)."""
    millis = int(moment.timestamp() * 1000)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    return uuid.UUID(int=value)


def staff_of(agency: DemoAgency) -> Principal:
    """The agency's follow-up person (admin penghubung), one demo account per agency."""
    return Principal(
        kind=PrincipalKind.user,
        role=Role.liaison,
        subject=str(uuid.uuid5(DEMO_NAMESPACE, agency.code)),
        agency_id=agency.id,
        agency_ids=(agency.id,),
    )


def reporter_of(complaint: Complaint) -> Principal:
    """Who filed it, from `submitted_by` (the principal's key, as intake writes it)."""
    role, _, subject = complaint.submitted_by.partition(":")
    if role == Role.anonymous:
        return Principal(kind=PrincipalKind.anonymous, role=Role.anonymous, client=subject)
    if role == Role.regional_system:
        return Principal(kind=PrincipalKind.api_key, role=Role.regional_system, subject=subject)
    return Principal(kind=PrincipalKind.user, role=Role.citizen, subject=subject)


VERIFIERS = tuple(
    Principal(
        kind=PrincipalKind.user, role=Role.admin, subject=str(uuid.uuid5(DEMO_NAMESPACE, f"v{i}"))
    )
    for i in range(6)
)


class Life:
    """Lives one complaint up to `horizon` (the moment of seeding)."""

    def __init__(
        self,
        complaint: Complaint,
        *,
        agencies: dict[uuid.UUID, DemoAgency],
        decide: Decide,
        settings: Settings,
        horizon: datetime,
        rng: random.Random,
        manual: bool,
    ) -> None:
        self.complaint = complaint
        self.agencies = agencies
        self.decide = decide
        self.settings = settings
        self.horizon = horizon
        self.rng = rng
        self.manual = manual
        self.now = complaint.created_at
        self.assignments: list[ComplaintAgency] = []
        self.clocks: list[ComplaintClock] = []
        self.events: list[DemoEvent] = []
        self.follow_ups: list[dict[str, Any]] = []
        self.closed = False

    # --- bookkeeping ------------------------------------------------------------------------

    def at(self, moment: datetime) -> bool:
        """Move to `moment`, running the sweep up to it; False when it lies past the horizon."""
        if moment >= self.horizon:
            self.sweep_until(self.horizon)
            return False
        self.sweep_until(moment)
        self.now = max(moment, self.now + timedelta(milliseconds=1))
        return True

    def record(self, type_: EventType, actor: Principal, data: dict[str, Any]) -> DemoEvent:
        """The event as `record_event` writes it, at `now` (1 ms after the previous one), with an
        id of that time, already delivered (a year of history is not replayed to the workers or
        to webhook receivers: see docs/architecture.md)."""
        self.now += timedelta(milliseconds=1)
        event = DemoEvent(
            id=uuid7_at(self.now, self.rng),
            type=type_.value,
            occurred_at=self.now,
            complaint_id=self.complaint.id,
            actor_kind=actor.actor,
            actor_role=actor.role.value,
            actor_id=actor.subject,
            data=data,
            published_at=self.now,
            settled_at=self.now,
        )
        self.events.append(event)
        self.complaint.updated_at = self.now
        return event

    def refs(self) -> list[AgencyRef]:
        return [self.agencies[a.agency_id].ref for a in self.assignments if a.active]

    def move(
        self, target: Status, type_: EventType, actor: Principal, reason: str | None
    ) -> DemoEvent:
        """`services.complaints.transition`: the state machine's check, the event's data."""
        complaint = self.complaint
        previous = complaint.status
        complaint.status = check_transition(previous, target).value
        agencies = self.refs() if target != Status.returned else []
        data = complaint_data(complaint, agencies) | {"previous_status": previous, "reason": reason}
        complaint.version += 1
        return self.record(type_, actor, data)

    def note(
        self, type_: EventType, actor: Principal, reason: str | None, **details: Any
    ) -> DemoEvent:
        """`services.complaints.record_complaint_event`: an event that changes no status."""
        complaint = self.complaint
        data = (
            complaint_data(complaint, self.refs())
            | {"previous_status": complaint.status, "reason": reason}
            | details
        )
        return self.record(type_, actor, data)

    def later(self, working_days: float, timezone: str) -> datetime:
        """`working_days` of working time after now: whole working days, then office hours."""
        whole = int(working_days)
        fraction = working_days - whole
        if whole == 0:
            return self.now + timedelta(hours=0.05 + fraction * 9)
        day = nth_working_day_after(local_day(self.now, timezone), whole)
        return start_of_day(day, timezone) + timedelta(hours=8 + fraction * 9)

    def delay(self, quality: float) -> float:
        """Working days an agency of `quality` takes to act: a day or two for the good, two
        weeks and more for the worst (log-normal around a median set by quality)."""
        median = 0.4 + (1 - quality) ** 2 * 8
        return min(self.rng.lognormvariate(math.log(median), 0.6), 60.0)

    # --- clocks (routing/sla/clocks.py's ClockService, in memory) ------------------------------

    def start_clock(self, kind: ClockKind, agency: DemoAgency | None, timezone: str) -> None:
        """routing/sla/clocks.py's `new_clock`, as a plain record, armed by its own `arm`."""
        complaint = self.complaint
        clock = plain(
            ComplaintClock,
            id=random_uuid4(self.rng),
            complaint_id=complaint.id,
            agency_id=agency.id if agency else None,
            kind=kind.value,
            timezone=timezone,
            working_days=working_days_of(kind, complaint.report_type, complaint.category_code),
            started_at=self.now,
            reminders_sent=0,
            paused_at=None,
            stopped_at=None,
            warned_at=None,
            breached_at=None,
            next_check_at=None,
        )
        arm(clock, self.now, self.settings)
        self.clocks.append(clock)

    def stop(
        self, kinds: tuple[ClockKind, ...] | None = None, agency_id: uuid.UUID | None = None
    ) -> None:
        for clock in self.running():
            if kinds is not None and clock.kind not in kinds:
                continue
            if agency_id is not None and clock.agency_id != agency_id:
                continue
            clock.stopped_at = self.now
            clock.next_check_at = None

    def running(self) -> list[ComplaintClock]:
        return [c for c in self.clocks if c.stopped_at is None]

    # --- the sweep (routing/sla/sweep.py's SweepService.check, in memory) ----------------------

    def sweep_until(self, until: datetime) -> None:
        while True:
            due = [
                c
                for c in self.running()
                if c.paused_at is None and c.next_check_at is not None and c.next_check_at <= until
            ]
            if not due:
                return
            clock = min(due, key=lambda c: c.next_check_at or until)
            assert clock.next_check_at is not None
            lag = timedelta(seconds=self.rng.uniform(0, self.settings.sla_sweep_interval_seconds))
            self.now = max(self.now, min(clock.next_check_at + lag, until))
            self.check(clock)

    def check(self, clock: ComplaintClock) -> None:
        now = self.now
        pending_breach = clock.breached_at is None or clock.breached_at < clock.due_at
        if pending_breach and now >= clock.due_at:
            clock.warned_at = clock.warned_at or now
            self.breach(clock)
        else:
            if pending_breach and clock.warned_at is None and now >= clock.warn_at:
                clock.warned_at = now
                self.note(
                    EventType.complaint_sla_warning,
                    SYSTEM_ROUTING,
                    f"tenggat {clock.kind} segera berakhir",
                    clock=clock.kind,
                    agency=self.owner(clock),
                    due_at=clock.due_at.isoformat(),
                )
            reminder = next_reminder_at(clock, self.settings.sla_reminder_every_working_days)
            if (
                reminder is not None
                and now >= reminder
                and clock.reminders_sent < self.settings.sla_reminder_max
            ):
                self.remind(clock)
        if clock.stopped_at is None:
            schedule(clock, self.settings)

    def owner(self, clock: ComplaintClock) -> dict[str, str] | None:
        return self.agencies[clock.agency_id].as_json() if clock.agency_id else None

    def breach(self, clock: ComplaintClock) -> None:
        if clock.kind == ClockKind.reply_window:
            if self.complaint.status == Status.responded:
                self.move(
                    Status.resolved,
                    EventType.complaint_resolved,
                    SYSTEM_ROUTING,
                    "reply window elapsed",
                )
                self.finish()
            clock.breached_at = clock.stopped_at = self.now
            clock.next_check_at = None
            return
        due_at = clock.due_at
        clock.breached_at = self.now
        clock.reminders_sent = 0
        self.note(
            EventType.complaint_sla_breached,
            SYSTEM_ROUTING,
            f"tenggat {clock.kind} terlewati",
            clock=clock.kind,
            agency=self.owner(clock),
            notify=None if clock.agency_id is not None else "national_admins",
            due_at=due_at.isoformat(),
        )
        self.remind(clock)
        if (
            clock.kind in {k.value for k in AGENCY_CLOCKS}
            and self.settings.sla_escalation_enabled
            and self.escalate(clock)
        ):
            arm(clock, self.now, self.settings)

    def remind(self, clock: ComplaintClock) -> None:
        if clock.reminders_sent >= self.settings.sla_reminder_max:
            return
        clock.reminders_sent += 1
        self.note(
            EventType.complaint_reminder,
            SYSTEM_ROUTING,
            f"pengingat {clock.reminders_sent}: tenggat {clock.kind} terlewati",
            clock=clock.kind,
            agency=self.owner(clock),
            notify=None if clock.agency_id is not None else "national_admins",
            reminder=clock.reminders_sent,
            due_at=clock.due_at.isoformat(),
        )

    def escalate(self, clock: ComplaintClock) -> bool:
        assert clock.agency_id is not None
        watching = {
            a.agency_id: a
            for a in self.assignments
            if a.active and a.role == AssignmentRole.escalation
        }
        current = self.agencies.get(clock.agency_id)
        if current is None:
            return False
        source = next((a for a in self.assignments if a.active and a.agency_id == current.id), None)
        while current.parent_id is not None and current.parent_id in watching:
            source = watching[current.parent_id]
            parent = self.agencies.get(current.parent_id)
            if parent is None:
                break
            current = parent
        if current.parent_id is None or current.parent_id not in self.agencies:
            return False
        target = self.agencies[current.parent_id]
        self.assign(target, AssignmentRole.escalation, source.id if source else None)
        self.complaint.escalation_level += 1
        self.note(
            EventType.complaint_escalated,
            SYSTEM_ROUTING,
            f"tenggat {clock.kind} terlewati: eskalasi ke {target.name}",
            clock=clock.kind,
            level=self.complaint.escalation_level,
            **{"from": current.as_json(), "to": target.as_json()},
        )
        return True

    # --- the people's steps ------------------------------------------------------------------

    def assign(
        self, agency: DemoAgency, role: AssignmentRole, source_id: uuid.UUID | None = None
    ) -> ComplaintAgency:
        assignment = plain(
            ComplaintAgency,
            id=random_uuid4(self.rng),
            complaint_id=self.complaint.id,
            agency_id=agency.id,
            assigned_at=self.now,
            active=True,
            status=AssignmentStatus.assigned.value,
            role=role.value,
            source_id=source_id,
            ended_at=None,
        )
        self.assignments.append(assignment)
        return assignment

    def handler(self) -> ComplaintAgency | None:
        return next(
            (a for a in self.assignments if a.active and a.role == AssignmentRole.handler), None
        )

    def disposition(self, choice: Choice, actor: Principal) -> None:
        self.assign(choice.agency, AssignmentRole.handler)
        event = self.move(
            Status.dispositioned, EventType.complaint_dispositioned, actor, choice.reason
        )
        event.data = event.data | {"disposition": choice.candidate}
        for kind in AGENCY_CLOCKS:
            self.start_clock(kind, choice.agency, choice.agency.timezone)

    def finish(self) -> None:
        """Resolved: every clock stops, the handlers' assignments are done."""
        self.stop()
        for a in self.assignments:
            if a.active and a.role == AssignmentRole.handler:
                a.status = AssignmentStatus.resolved.value
        self.closed = True

    def live(self) -> Written:
        rng = self.rng
        complaint = self.complaint
        reporter = reporter_of(complaint)
        # As intake records it: the complaint's data, no previous status or reason.
        self.now -= timedelta(milliseconds=1)
        self.record(EventType.complaint_submitted, reporter, complaint_data(complaint, []))
        choice = self.decide(
            complaint.report_type, complaint.category_code, region_of(complaint), frozenset()
        )
        if self.manual:
            self.start_clock(ClockKind.verification, None, VERIFICATION_TIMEZONE)
        self.now += timedelta(seconds=rng.uniform(0.2, 3))  # the routing worker's job
        if self.manual:
            self.note(
                EventType.complaint_verification_required,
                SYSTEM_ROUTING,
                "verifikasi manual: category_manual",
                reasons=["category_manual"],
                flagged_words=[],
            )
            # The national admins: most within a day, some after the deadline.
            days = rng.uniform(0.1, 1.5) if rng.random() < 0.85 else rng.uniform(2, 7)
            if not self.at(self.later(days, VERIFICATION_TIMEZONE)):
                return self.written()
            verifier = rng.choice(VERIFIERS)
            if rng.random() < 0.08 or choice is None:
                event = self.move(
                    Status.archived,
                    EventType.complaint_archived,
                    verifier,
                    "bukan urusan pemerintah",
                )
                event.data = event.data | {"reason_code": "not_government"}
                self.stop()
                return self.written()
            self.move(Status.verified, EventType.complaint_verified, verifier, "diverifikasi")
            self.stop((ClockKind.verification,))
            self.disposition(choice, verifier)
        else:
            if choice is None:
                return self.written()
            self.move(
                Status.verified, EventType.complaint_verified, SYSTEM_ROUTING, "verifikasi otomatis"
            )
            self.disposition(choice, SYSTEM_ROUTING)
        self.handle(choice)
        self.sweep_until(self.horizon)
        return self.written()

    def handle(self, choice: Choice) -> None:
        rng = self.rng
        refused: set[uuid.UUID] = set()
        agency = choice.agency
        rounds = 0
        while not self.closed:
            rounds += 1
            quality = agency.quality
            staff = staff_of(agency)
            # Bukan wewenang: the wrong door, more often at careless agencies.
            if len(refused) < 2 and rng.random() < 0.03 + 0.07 * (1 - quality):
                if not self.at(self.later(self.delay(quality) / 2, agency.timezone)):
                    return
                refused.add(agency.id)
                nxt = self.decide(
                    self.complaint.report_type,
                    self.complaint.category_code,
                    region_of(self.complaint),
                    frozenset(refused),
                )
                if not self.give_back(agency, nxt, staff):
                    return
                assert nxt is not None
                agency = nxt.agency
                continue
            # Some agencies let a complaint stall altogether: the sweep escalates it.
            if rng.random() < 0.25 * (1 - quality) ** 2:
                return
            if rounds == 1 and rng.random() < 0.7:
                if not self.at(self.later(rng.uniform(0, 0.8), agency.timezone)):
                    return
                mine = self.handler()
                if mine is not None and mine.status == AssignmentStatus.assigned:
                    mine.status = AssignmentStatus.accepted.value
                    event = self.move(Status.in_progress, EventType.complaint_accepted, staff, None)
                    event.data = event.data | {"agency": agency.as_json()}
            if not self.at(self.later(self.delay(quality), agency.timezone)):
                return
            if self.complaint.status not in {Status.dispositioned, Status.in_progress}:
                return
            if rng.random() < 0.08:  # the agency closes it itself
                event = self.move(
                    Status.resolved, EventType.complaint_resolved, staff, "selesai ditangani"
                )
                event.data = event.data | {"agency": agency.as_json()}
                self.finish()
                break
            self.follow_up(agency, staff)
            if not self.reporter_answers(agency):
                return
        self.rate(agency)

    def give_back(self, agency: DemoAgency, nxt: Choice | None, staff: Principal) -> bool:
        """The inbox's return: the assignment ends, the complaint goes to the next candidate
        (or back to the verification queue when there is none: left there)."""
        for a in self.assignments:
            if a.active and a.role == AssignmentRole.handler:
                a.active = False
                a.status = AssignmentStatus.returned.value
                a.ended_at = self.now
        self.complaint.returns_count += 1
        reason = self.rng.choice(RETURN_REASONS)
        details = {
            "from_agency": agency.as_json(),
            "to_agency": nxt.agency.as_json() if nxt else None,
            "returns_count": self.complaint.returns_count,
        }
        if nxt is not None:
            details["next_candidate"] = nxt.candidate
        event = self.move(Status.returned, EventType.complaint_returned, staff, reason)
        event.data = event.data | details
        self.stop(agency_id=agency.id)
        if nxt is None:
            event = self.move(
                Status.submitted,
                EventType.complaint_verification_required,
                staff,
                f"dikembalikan oleh {agency.name}: {reason}",
            )
            event.data = event.data | details
            return False
        self.assign(nxt.agency, AssignmentRole.handler)
        how = f"dikembalikan oleh {agency.name}: {reason}; kandidat berikutnya: {nxt.agency.name}"
        event = self.move(Status.dispositioned, EventType.complaint_dispositioned, staff, how)
        event.data = event.data | details
        for kind in AGENCY_CLOCKS:
            self.start_clock(kind, nxt.agency, nxt.agency.timezone)
        return True

    def follow_up(self, agency: DemoAgency, staff: Principal) -> None:
        mine = self.handler()
        event = self.move(
            Status.responded,
            EventType.complaint_followed_up,
            staff,
            "tindak lanjut dari " + agency.name,
        )
        if mine is not None:
            mine.status = AssignmentStatus.responded.value
        text = self.rng.choice(FOLLOW_UPS)
        follow_up_id = random_uuid4(self.rng)
        self.follow_ups.append(
            {
                "id": follow_up_id,
                "complaint_id": self.complaint.id,
                "agency_id": agency.id,
                "text": text,
                "actor_role": staff.role.value,
                "actor_id": staff.subject,
                "event_id": event.id,
                "created_at": self.now,
            }
        )
        event.data = event.data | {
            "agency": agency.as_json(),
            "follow_up_id": str(follow_up_id),
            "text": None if self.complaint.confidential else text,
        }
        self.stop((ClockKind.first_response,), agency.id)
        self.stop((ClockKind.reply_window,))
        self.start_clock(ClockKind.reply_window, None, timezone_of(region_of(self.complaint)))

    def reporter_answers(self, agency: DemoAgency) -> bool:
        """After a follow-up: the reporter accepts, replies (back to work: True), or stays
        silent and the reply window closes it (the sweep)."""
        rng = self.rng
        draw = rng.random()
        reporter = reporter_of(self.complaint)
        tz = timezone_of(region_of(self.complaint))
        if draw < 0.12 and REPORTER_REPLIED is not None:
            if not self.at(self.later(rng.uniform(0.2, 4), tz)):
                return False
            if self.complaint.status != Status.responded:
                return False
            event = self.move(Status.in_progress, REPORTER_REPLIED, reporter, None)
            event.data = event.data | {"body": "Masalahnya belum selesai, mohon dicek kembali."}
            # As routing/sla/clocks.py: the reply ends the window; completion runs on.
            self.stop((ClockKind.reply_window,))
            return True
        if draw < 0.35 and RESOLUTION_ACCEPTED is not None:
            if not self.at(self.later(rng.uniform(0.1, 5), tz)):
                return False
            if self.complaint.status == Status.responded:
                self.move(Status.resolved, RESOLUTION_ACCEPTED, reporter, None)
                self.finish()
            return False
        self.sweep_until(self.horizon)  # the reply window runs out (or is still running)
        return False

    def rate(self, agency: DemoAgency) -> None:
        if RATED is None or not self.closed or self.rng.random() > 0.45:
            return
        if not self.at(self.later(self.rng.uniform(0, 3), timezone_of(region_of(self.complaint)))):
            return
        rating = max(1, min(5, round(self.rng.gauss(1.5 + 3.5 * agency.quality, 0.8))))
        reporter = reporter_of(self.complaint)
        self.note(RATED, reporter, None, rating=rating, comment=None)

    def written(self) -> Written:
        return Written(self.complaint, self.assignments, self.clocks, self.events, self.follow_ups)
