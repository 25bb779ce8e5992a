"""The agency inbox: what an agency (and the offices below it) must handle, and its actions.
Never commits.

Scope: a complaint is in a caller's inbox while it has an ACTIVE assignment (handler or
escalation) to an agency in `principal.agency_ids`; admins see every complaint with an active
assignment. Anything else answers 404, for the list's detail and for every action alike.

An action works on "the caller's assignment": the active assignment the caller covers, a handler
before an escalation watcher, its own agency's before an office's (admins: the first active
handler). Its status follows the action (accepted, responded, resolved, returned, delegated)."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from routing.disposition.engine import Candidate, DispositionEngine, NoAgency
from routing.inbox.repository import InboxFilter, InboxRepository
from routing.inbox.schemas import (
    AssignmentOut,
    ClockOut,
    DelegateIn,
    FollowUpIn,
    FollowUpOut,
    HoldIn,
    InboxComplaint,
    InboxEntry,
    InboxItem,
    InboxReporter,
    ResolveIn,
    ReturnIn,
    ReturnOut,
)
from services import clock
from services.complaints import AgencyRef, record_complaint_event, transition
from services.conversation import attach_texts, readable
from services.domain.lifecycle import STATUS_LABELS, IllegalTransition, Status, check_transition
from services.events.catalogue import EventType
from services.models import Agency, Complaint, ComplaintAgency, ComplaintClock, Event
from services.models.complaint import AssignmentRole, AssignmentStatus
from services.pagination import Page, decode_cursor, encode_cursor
from services.policy import not_visible
from services.principal import Principal, Role
from services.privacy import ComplaintFacts, audience_for, redact, shows_content
from services.problems import ProblemError
from services.runtime import Runtime

# Event data that is the complaint's snapshot (complaint_data); the rest is what the action said.
SNAPSHOT_KEYS = frozenset(
    {
        "tracking_id",
        "status",
        "status_label",
        "report_type",
        "category",
        "region_code",
        "title",
        "description",
        "anonymous",
        "confidential",
        "escalation_level",
        "agencies",
        "previous_status",
        "reason",
    }
)
# A returned complaint goes back to verification through this event (the manual queue's).
BACK_TO_VERIFICATION = EventType.complaint_verification_required


def _now() -> datetime:
    return datetime.now(UTC)


def _touch(complaint: Complaint, now: datetime | None = None) -> None:
    """Write the complaint row (and so check its version) for an action that changes only its
    assignments: two concurrent actions on one complaint cannot both succeed (the second 409)."""
    complaint.updated_at = now or _now()


def _refs(assignments: Sequence[ComplaintAgency]) -> list[AgencyRef]:
    return [AgencyRef(a.agency.id, a.agency.code, a.agency.name) for a in assignments if a.active]


def _agency_ref(agency: Agency) -> dict[str, str]:
    return {"id": str(agency.id), "code": agency.code, "name": agency.name}


def assignment_out(a: ComplaintAgency) -> AssignmentOut:
    return AssignmentOut(
        id=a.id,
        agency_id=a.agency_id,
        agency_code=a.agency.code,
        agency_name=a.agency.name,
        role=a.role,
        status=a.status,
        assigned_at=a.assigned_at,
        source_id=a.source_id,
    )


def clock_out(clock: ComplaintClock, now: datetime) -> ClockOut:
    paused = clock.paused_at is not None
    return ClockOut(
        kind=clock.kind,
        agency_id=clock.agency_id,
        due_at=clock.due_at,
        paused=paused,
        overdue=not paused and clock.due_at < now,
    )


def entry_out(event: Event, data: dict[str, Any] | None = None) -> InboxEntry:
    """`data`: the event's data as the reader may read it (services.conversation.readable)."""
    data = event.data if data is None else data
    return InboxEntry(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        status=event.data.get("status"),
        actor=event.actor_kind,
        actor_role=event.actor_role,
        reason=event.data.get("reason"),
        details={k: v for k, v in data.items() if k not in SNAPSHOT_KEYS},
    )


class InboxService:
    def __init__(self, session: AsyncSession, runtime: Runtime | None = None) -> None:
        self.session = session
        self.runtime = runtime
        self.inbox = InboxRepository(session)

    async def _platform_now(self) -> datetime:
        """Deadlines are compared with the platform's clock (services.clock: tests may move
        it); records are stamped with real time."""
        if self.runtime is None:
            return _now()
        return await clock.now(self.runtime.settings, self.runtime.redis)

    # --- scope ------------------------------------------------------------------------------

    @staticmethod
    def _covers(principal: Principal, agency_id: uuid.UUID) -> bool:
        return principal.role is Role.admin or principal.covers_agency(agency_id)

    @staticmethod
    def scope(principal: Principal) -> tuple[uuid.UUID, ...] | None:
        return None if principal.role is Role.admin else principal.agency_ids

    async def _visible(self, principal: Principal, tracking_id: str) -> Complaint:
        complaint = await self.inbox.by_tracking_id(tracking_id.upper())
        if complaint is None or not any(
            a.active and self._covers(principal, a.agency_id) for a in complaint.assignments
        ):
            raise not_visible("complaint in your inbox with tracking id", tracking_id)
        return complaint

    def _mine(self, principal: Principal, complaint: Complaint) -> ComplaintAgency:
        """The caller's assignment: handler before escalation, own agency before an office."""
        covered = [
            a for a in complaint.assignments if a.active and self._covers(principal, a.agency_id)
        ]

        def rank(a: ComplaintAgency) -> tuple[int, int]:
            return (
                0 if a.role == AssignmentRole.handler else 1,
                0 if a.agency_id == principal.agency_id else 1,
            )

        return sorted(covered, key=rank)[0]

    # --- reading ------------------------------------------------------------------------------

    async def list(
        self,
        principal: Principal,
        where: InboxFilter,
        cursor: str | None,
        limit: int,
    ) -> Page[InboxItem]:
        after = decode_cursor(cursor)
        try:
            before = uuid.UUID(after) if after else None
        except ValueError as exc:
            raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc
        now = await self._platform_now()
        rows = await self.inbox.page(where, before=before, limit=limit + 1, now=now)
        page = rows[:limit]
        ids = [c.id for c in page]
        assignments = await self.inbox.active_assignments(ids)
        clocks = await self.inbox.running_clocks(ids)
        items = []
        for complaint in page:
            active = [a for a in assignments if a.complaint_id == complaint.id]
            mine = [a for a in active if self._covers(principal, a.agency_id)]
            items.append(
                self._item(
                    principal,
                    complaint,
                    active,
                    mine,
                    [c for c in clocks if c.complaint_id == complaint.id],
                    now,
                )
            )
        next_cursor = encode_cursor(str(page[-1].id)) if len(rows) > limit else None
        return Page[InboxItem](items=items, next_cursor=next_cursor)

    def _item(
        self,
        principal: Principal,
        complaint: Complaint,
        active: Sequence[ComplaintAgency],
        mine: Sequence[ComplaintAgency],
        clocks: Sequence[ComplaintClock],
        now: datetime,
    ) -> InboxItem:
        audience = audience_for(principal, self._facts(complaint, active))
        shown = [clock_out(c, now) for c in clocks]
        status = Status(complaint.status)
        return InboxItem(
            tracking_id=complaint.tracking_id,
            status=status,
            status_label=STATUS_LABELS[status],
            report_type=complaint.report_type,
            title=complaint.title if shows_content(audience, complaint.confidential) else None,
            category=complaint.category_code,
            region_code=complaint.region_code,
            escalation_level=complaint.escalation_level,
            returns_count=complaint.returns_count,
            overdue=any(c.overdue for c in shown),
            assignments=[assignment_out(a) for a in mine],
            clocks=shown,
            created_at=complaint.created_at,
            updated_at=complaint.updated_at,
        )

    @staticmethod
    def _facts(complaint: Complaint, active: Sequence[ComplaintAgency]) -> ComplaintFacts:
        return ComplaintFacts(
            anonymous=complaint.anonymous,
            confidential=complaint.confidential,
            region_code=complaint.region_code,
            agency_ids=[a.agency_id for a in active],
            reporter_account_id=complaint.reporter_account_id,
            reporter_token_hash=complaint.reporter_token_hash,
        )

    async def get(self, principal: Principal, tracking_id: str) -> dict[str, Any]:
        complaint = await self._visible(principal, tracking_id)
        return await self._detail(principal, complaint)

    async def _detail(self, principal: Principal, complaint: Complaint) -> dict[str, Any]:
        if complaint in self.session.dirty or self.session.new:
            await self.inbox.written(complaint)
        now = await self._platform_now()
        active = [a for a in complaint.assignments if a.active]
        mine = [a for a in active if self._covers(principal, a.agency_id)]
        clocks = await self.inbox.running_clocks([complaint.id])
        events = await self.inbox.timeline(complaint.id)
        follow_ups = await self.inbox.follow_ups(complaint.id)
        item = self._item(principal, complaint, active, mine, clocks, now)
        has_reporter = any(
            (complaint.reporter_name, complaint.reporter_email, complaint.reporter_phone)
        )
        view = InboxComplaint(
            **(item.model_dump() | {"title": complaint.title}),
            description=complaint.description,
            occurred_on=complaint.occurred_on,
            address=complaint.address,
            latitude=complaint.latitude,
            longitude=complaint.longitude,
            anonymous=complaint.anonymous,
            confidential=complaint.confidential,
            reporter=InboxReporter(
                name=complaint.reporter_name,
                email=complaint.reporter_email,
                phone=complaint.reporter_phone,
            )
            if has_reporter
            else None,
            held_from_status=complaint.held_from_status,
            resume_on=complaint.resume_on,
            all_assignments=[assignment_out(a) for a in active],
            # convo: a confidential complaint's conversation texts, for those entitled to them
            timeline=[
                entry_out(
                    e,
                    readable(
                        e,
                        audience_for(principal, self._facts(complaint, active)),
                        complaint.confidential,
                    ),
                )
                for e in events
            ],
            follow_ups=[
                FollowUpOut(
                    id=f.id,
                    agency_id=f.agency_id,
                    text=f.text,
                    actor_role=f.actor_role,
                    created_at=f.created_at,
                )
                for f in follow_ups
            ],
        ).model_dump(mode="json")
        audience = audience_for(principal, self._facts(complaint, active))
        return redact(
            view, audience, anonymous=complaint.anonymous, confidential=complaint.confidential
        )

    # --- actions ------------------------------------------------------------------------------

    async def accept(
        self, principal: Principal, tracking_id: str, reason: str | None
    ) -> dict[str, Any]:
        """dispositioned → in_progress; the caller's assignment accepted. A co-handler accepting
        a complaint another agency already works on records the event without a status change."""
        complaint = await self._visible(principal, tracking_id)
        mine = self._mine(principal, complaint)
        if mine.status != AssignmentStatus.assigned:
            raise ProblemError("conflict", f"your assignment is {mine.status}, not assigned")
        mine.status = AssignmentStatus.accepted.value
        agencies = _refs(complaint.assignments)
        details = {"agency": _agency_ref(mine.agency)}
        if complaint.status == Status.in_progress:
            _touch(complaint)
            record_complaint_event(
                self.session,
                complaint,
                EventType.complaint_accepted,
                actor=principal,
                reason=reason,
                agencies=agencies,
                **details,
            )
        else:
            event = transition(
                self.session,
                complaint,
                Status.in_progress,
                EventType.complaint_accepted,
                actor=principal,
                reason=reason,
                agencies=agencies,
            )
            event.data = event.data | details
        return await self._detail(principal, complaint)

    async def follow_up(
        self, principal: Principal, tracking_id: str, body: FollowUpIn
    ) -> dict[str, Any]:
        """→ responded; the caller's assignment responded. The text is content: it is kept in
        complaint_follow_ups, and rides in the event (and so in webhooks) only when the
        complaint is not confidential."""
        complaint = await self._visible(principal, tracking_id)
        mine = self._mine(principal, complaint)
        event = transition(
            self.session,
            complaint,
            Status.responded,
            EventType.complaint_followed_up,
            actor=principal,
            reason="tindak lanjut dari " + mine.agency.name,
            agencies=_refs(complaint.assignments),
        )
        mine.status = AssignmentStatus.responded.value
        follow_up = self.inbox.add_follow_up(
            complaint,
            mine.agency,
            body.text,
            actor_role=principal.role.value,
            actor_id=principal.subject,
            event_id=event.id,
            now=_now(),
        )
        event.data = event.data | {
            "agency": _agency_ref(mine.agency),
            "follow_up_id": str(follow_up.id),
        }
        # The text for the reporter's follow-up list; off the published data when confidential.
        attach_texts(event, complaint.confidential, {"text": body.text})
        return await self._detail(principal, complaint)

    async def resolve(
        self, principal: Principal, tracking_id: str, body: ResolveIn
    ) -> dict[str, Any]:
        complaint = await self._visible(principal, tracking_id)
        mine = self._mine(principal, complaint)
        event = transition(
            self.session,
            complaint,
            Status.resolved,
            EventType.complaint_resolved,
            actor=principal,
            reason=body.reason,
            agencies=_refs(complaint.assignments),
        )
        mine.status = AssignmentStatus.resolved.value
        event.data = event.data | {"agency": _agency_ref(mine.agency)}
        return await self._detail(principal, complaint)

    async def hold(self, principal: Principal, tracking_id: str, body: HoldIn) -> dict[str, Any]:
        complaint = await self._visible(principal, tracking_id)
        if body.resume_on <= (await self._platform_now()).date():
            raise ProblemError("validation_failed", errors=[("/resume_on", "not_in_future")])
        previous = complaint.status
        event = transition(
            self.session,
            complaint,
            Status.on_hold,
            EventType.complaint_held,
            actor=principal,
            reason=body.reason,
            agencies=_refs(complaint.assignments),
        )
        complaint.held_from_status = previous
        complaint.resume_on = body.resume_on
        event.data = event.data | {"resume_on": body.resume_on.isoformat()}
        return await self._detail(principal, complaint)

    async def resume(
        self, principal: Principal, tracking_id: str, reason: str | None
    ) -> dict[str, Any]:
        complaint = await self._visible(principal, tracking_id)
        if complaint.status != Status.on_hold or complaint.held_from_status is None:
            raise IllegalTransition(Status(complaint.status), Status.in_progress)
        transition(
            self.session,
            complaint,
            Status(complaint.held_from_status),
            EventType.complaint_resumed,
            actor=principal,
            reason=reason,
            agencies=_refs(complaint.assignments),
        )
        complaint.held_from_status = None
        complaint.resume_on = None
        return await self._detail(principal, complaint)

    async def delegate(
        self, principal: Principal, tracking_id: str, body: DelegateIn
    ) -> dict[str, Any]:
        """A coordinator hands its complaint to one of its offices; the office gets a handler
        assignment that names the coordinator's as its source."""
        complaint = await self._visible(principal, tracking_id)
        if principal.role not in {Role.coordinator, Role.admin}:
            raise ProblemError("forbidden", "only a coordinator delegates to its offices")
        mine = self._mine(principal, complaint)
        if mine.role != AssignmentRole.handler or mine.status not in {
            AssignmentStatus.assigned,
            AssignmentStatus.accepted,
        }:
            raise ProblemError("conflict", f"your assignment is {mine.status}: not delegable")
        office = await self.inbox.agency(body.office_id)
        if office is None or not office.active or office.id == mine.agency_id:
            below = False
        elif principal.role is Role.admin:
            below = office.parent_id == mine.agency_id
        else:
            below = office.id != principal.agency_id and principal.covers_agency(office.id)
        if office is None or not below:
            raise ProblemError("validation_failed", errors=[("/office_id", "not_your_office")])
        if any(a.active and a.agency_id == office.id for a in complaint.assignments):
            raise ProblemError("conflict", f"{office.code} already has this complaint")
        now = _now()
        _touch(complaint, now)
        mine.status = AssignmentStatus.delegated.value
        self.inbox.add_assignment(complaint, office, source_id=mine.id, now=now)
        record_complaint_event(
            self.session,
            complaint,
            EventType.complaint_delegated,
            actor=principal,
            reason=body.reason or f"didelegasikan ke {office.name}",
            agencies=_refs(complaint.assignments),
            from_agency=_agency_ref(mine.agency),
            to_agency=_agency_ref(office),
        )
        return await self._detail(principal, complaint)

    async def return_(self, principal: Principal, tracking_id: str, body: ReturnIn) -> ReturnOut:
        """Bukan wewenang. The caller's active assignments end (returned); the return is
        counted. If other agencies still handle it, only the event is recorded (and the named
        agency joins them; an office's return gives it back to the coordinator that delegated
        it). Else the complaint is returned and goes on: to the named agency, else to the next
        candidate of the disposition rules (skipping every agency that returned it and the
        caller's offices), else back to the verification queue."""
        complaint = await self._visible(principal, tracking_id)
        check_transition(complaint.status, Status.returned)
        mine = self._mine(principal, complaint)
        if mine.role != AssignmentRole.handler:
            raise ProblemError("conflict", "an escalation watcher does not return a complaint")
        target: Agency | None = None
        if body.agency_id is not None:
            target = await self.inbox.agency(body.agency_id)
            if target is None or not target.active:
                raise ProblemError("validation_failed", errors=[("/agency_id", "unknown_agency")])
            if target.id == mine.agency_id:
                raise ProblemError("validation_failed", errors=[("/agency_id", "same_agency")])
        now = _now()
        ending = [
            a
            for a in complaint.assignments
            if a.active
            and a.role == AssignmentRole.handler
            and self._covers(principal, a.agency_id)
            if principal.role is not Role.admin or a.id == mine.id
        ]
        for a in ending:
            a.active = False
            a.status = AssignmentStatus.returned.value
            a.ended_at = now
        complaint.returns_count += 1
        # Back to the coordinator that delegated it, when nobody else is named.
        source = next(
            (
                a
                for a in complaint.assignments
                if a.active and a.id == mine.source_id and a.status == AssignmentStatus.delegated
            ),
            None,
        )
        if source is not None:
            source.status = AssignmentStatus.assigned.value
        if target is not None and any(
            a.active and a.agency_id == target.id for a in complaint.assignments
        ):
            raise ProblemError("conflict", f"{target.code} already has this complaint")
        others = [a for a in complaint.assignments if a.active and a.role == AssignmentRole.handler]
        chosen: Candidate | None = None
        if target is None and not others:
            # The next candidate of the rules, skipping every agency that returned it and,
            # when staff return it, their agency and its offices (not theirs means none of
            # theirs).
            refused = {a.agency_id for a in complaint.assignments if a.status == "returned"}
            if principal.role is not Role.admin:
                refused |= set(principal.agency_ids)
            try:
                decision = await DispositionEngine(self.session).choose(
                    complaint, exclude_agency_ids=refused
                )
            except NoAgency:
                decision = None
            if decision is not None:
                chosen = decision.candidates[0]
                target = await self.inbox.agency(decision.agency.id)
        details: dict[str, Any] = {
            "from_agency": _agency_ref(mine.agency),
            "to_agency": _agency_ref(target)
            if target is not None
            else _agency_ref(source.agency)
            if source is not None
            else None,
            "returns_count": complaint.returns_count,
        }
        if chosen is not None:
            details["next_candidate"] = chosen.as_data()
        if others:
            record_complaint_event(
                self.session,
                complaint,
                EventType.complaint_returned,
                actor=principal,
                reason=body.reason,
                agencies=_refs(complaint.assignments),
                **details,
            )
            if target is not None:
                self.inbox.add_assignment(complaint, target, now=now)
                record_complaint_event(
                    self.session,
                    complaint,
                    EventType.complaint_dispositioned,
                    actor=principal,
                    reason=f"dialihkan oleh {mine.agency.name}: {body.reason}",
                    agencies=_refs(complaint.assignments),
                    **details,
                )
            return self._returned(complaint)
        event = transition(
            self.session,
            complaint,
            Status.returned,
            EventType.complaint_returned,
            actor=principal,
            reason=body.reason,
            agencies=[],
        )
        event.data = event.data | details
        if target is not None:
            self.inbox.add_assignment(complaint, target, now=now)
            how = (
                f"dialihkan oleh {mine.agency.name}: {body.reason}"
                if chosen is None
                else f"dikembalikan oleh {mine.agency.name}: {body.reason}; kandidat berikutnya: "
                + target.name
            )
            event = transition(
                self.session,
                complaint,
                Status.dispositioned,
                EventType.complaint_dispositioned,
                actor=principal,
                reason=how,
                agencies=_refs(complaint.assignments),
            )
        else:
            event = transition(
                self.session,
                complaint,
                Status.submitted,
                BACK_TO_VERIFICATION,
                actor=principal,
                reason=f"dikembalikan oleh {mine.agency.name}: {body.reason}",
                agencies=[],
            )
        event.data = event.data | details
        return self._returned(complaint)

    @staticmethod
    def _returned(complaint: Complaint) -> ReturnOut:
        """The caller may no longer see the complaint (it left its inbox): what became of it."""
        status = Status(complaint.status)
        return ReturnOut(
            tracking_id=complaint.tracking_id,
            status=status,
            status_label=STATUS_LABELS[status],
            returns_count=complaint.returns_count,
            agencies=[assignment_out(a) for a in complaint.assignments if a.active],
        )
