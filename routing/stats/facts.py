"""One complaint's statistics facts, derived from its row, events, assignments and clocks.

Pure: the refresh job (routing/stats/refresh.py) reads the inputs and stores the result. The
definitions are those of docs/architecture.md "Statistics":

- time to verification, first follow-up and completion: whole working days (the calendar's
  `working_days_between`, in the clock's time zone) from the start of the *deciding clock* to
  its stop. The deciding clock of a kind is the latest started one (the agency that handled it
  last); the verification of a complaint verified automatically (no clock) took 0 days, on time.
- a clock is *counted* when it stopped for its reason (verified; a follow-up or resolution;
  resolved), *met* when it stopped at or before its due time (which pauses move); a clock still
  running past its due time counts as missed; anything else is not counted yet.
- open: not resolved, archived or duplicate; overdue: open with a running, unpaused agency or
  verification clock past due.
- forwarded: handled by more than one agency that was dispositioned to it directly (delegation to
  one's own office is not forwarding); first-contact resolution: resolved, never returned nor
  forwarded, with exactly one follow-up.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.domain.calendar import local_day, working_days_between
from services.domain.lifecycle import Status
from services.domain.regions import province_code, regency_code
from services.domain.sla import VERIFICATION_TIMEZONE
from services.models.routing import ClockKind

CLOSED = frozenset({Status.resolved, Status.archived, Status.duplicate})
NOT_COUNTED_IN_SHARES = frozenset({Status.archived, Status.duplicate})
FOLLOWED_UP = "complaint.followed_up"
RESOLVED = "complaint.resolved"
VERIFIED = "complaint.verified"
ESCALATED = "complaint.escalated"
REOPENED = "complaint.reopened"
RATED = "complaint.rated"


@dataclass(frozen=True)
class ComplaintIn:
    id: uuid.UUID
    created_at: datetime
    region_code: str | None  # None until an admin sets it (Open311 without a region)
    category_code: str
    report_type: str
    channel: str
    status: str
    returns_count: int


@dataclass(frozen=True)
class EventIn:
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True)
class ClockIn:
    kind: str
    timezone: str
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None
    paused_at: datetime | None
    # Set at a breach and kept: an escalation moves due_at on for the next agency, and a late
    # answer after it must still count as late.
    breached_at: datetime | None = None


@dataclass(frozen=True)
class AssignmentIn:
    agency_id: uuid.UUID
    role: str
    source_id: uuid.UUID | None


@dataclass(frozen=True)
class Facts:
    complaint_id: uuid.UUID
    submitted_at: datetime
    week: date
    region_code: str
    category_code: str
    report_type: str
    channel: str
    status: str
    share: str | None
    agency_ids: list[uuid.UUID]
    verification_days: int | None
    verification_met: bool | None
    first_response_days: int | None
    first_response_met: bool | None
    completion_days: int | None
    completion_met: bool | None
    is_open: bool
    overdue: bool
    escalations: int
    returns: int
    forwarded: bool
    ever_resolved: bool
    first_contact_resolved: bool
    reopened: int
    rating: int | None
    last_event_at: datetime


def week_of(moment: datetime) -> date:
    """The Monday of the moment's week, by the calendar of Jakarta (WIB)."""
    day = local_day(moment, VERIFICATION_TIMEZONE)
    return day - timedelta(days=day.weekday())


def stats_region(code: str) -> str:
    """Where a complaint counts: its kabupaten/kota, or its province when it has none."""
    return regency_code(code) or province_code(code)


def with_ancestors(
    agency_ids: Iterable[uuid.UUID], parents: Mapping[uuid.UUID, uuid.UUID | None]
) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    for agency_id in agency_ids:
        current: uuid.UUID | None = agency_id
        while current is not None and current not in found:
            found.append(current)
            current = parents.get(current)
    return found


def _deciding(clocks: Sequence[ClockIn], kind: ClockKind) -> ClockIn | None:
    """The latest started clock of `kind`; among clocks started together, a running one (the
    complaint waits for it) or else the one that stopped last."""
    mine = [c for c in clocks if c.kind == kind]
    if not mine:
        return None
    latest = max(c.started_at for c in mine)
    tied = [c for c in mine if c.started_at == latest]
    running = [c for c in tied if c.stopped_at is None]
    if running:
        return running[0]
    return max(tied, key=lambda c: c.stopped_at or latest)


def _clock_outcome(
    clock: ClockIn | None, done: bool, now: datetime
) -> tuple[int | None, bool | None]:
    """(working days, met) of a deciding clock; `done` says its stop was for its own reason."""
    if clock is None:
        return None, None
    if clock.stopped_at is not None:
        if not done:
            return None, None
        days = working_days_between(clock.started_at, clock.stopped_at, clock.timezone)
        return days, clock.breached_at is None and clock.stopped_at <= clock.due_at
    if clock.breached_at is not None or (clock.paused_at is None and clock.due_at < now):
        return None, False
    return None, None


def derive(
    complaint: ComplaintIn,
    events: Sequence[EventIn],
    clocks: Sequence[ClockIn],
    assignments: Sequence[AssignmentIn],
    parents: Mapping[uuid.UUID, uuid.UUID | None],
    now: datetime,
) -> Facts | None:
    """The complaint's facts; None while it has no region (it counts nowhere until it has)."""
    if complaint.region_code is None:
        return None
    types = [e.type for e in events]
    status = Status(complaint.status)
    follow_ups = types.count(FOLLOWED_UP)
    ever_resolved = RESOLVED in types or status == Status.resolved

    verification = _deciding(clocks, ClockKind.verification)
    if verification is None and VERIFIED in types:
        verified_at = min(e.occurred_at for e in events if e.type == VERIFIED)
        v_days: int | None = working_days_between(
            complaint.created_at, verified_at, VERIFICATION_TIMEZONE
        )
        v_met: bool | None = True
    else:
        v_days, v_met = _clock_outcome(verification, VERIFIED in types, now)
    f_days, f_met = _clock_outcome(
        _deciding(clocks, ClockKind.first_response), follow_ups > 0 or ever_resolved, now
    )
    c_days, c_met = _clock_outcome(_deciding(clocks, ClockKind.completion), ever_resolved, now)

    is_open = status not in CLOSED
    overdue = is_open and any(
        c.stopped_at is None
        and c.paused_at is None
        and c.due_at < now
        and c.kind != ClockKind.reply_window
        for c in clocks
    )
    handlers = [a for a in assignments if a.role == "handler"]
    direct = {a.agency_id for a in handlers if a.source_id is None}
    forwarded = len(direct) > 1
    returns = complaint.returns_count
    if status in NOT_COUNTED_IN_SHARES:
        share: str | None = None
    elif status == Status.resolved:
        share = "finished"
    elif follow_ups > 0 or status in {Status.in_progress, Status.responded}:
        share = "in_process"
    else:
        share = "no_follow_up"
    ratings = [e for e in events if e.type == RATED and isinstance(e.data.get("rating"), int)]
    rating = max(ratings, key=lambda e: e.occurred_at).data["rating"] if ratings else None
    last_event_at = max((e.occurred_at for e in events), default=complaint.created_at)
    return Facts(
        complaint_id=complaint.id,
        submitted_at=complaint.created_at,
        week=week_of(complaint.created_at),
        region_code=stats_region(complaint.region_code),
        category_code=complaint.category_code,
        report_type=complaint.report_type,
        channel=complaint.channel,
        status=status.value,
        share=share,
        agency_ids=with_ancestors([a.agency_id for a in handlers], parents),
        verification_days=v_days,
        verification_met=v_met,
        first_response_days=f_days,
        first_response_met=f_met,
        completion_days=c_days,
        completion_met=c_met,
        is_open=is_open,
        overdue=overdue,
        escalations=types.count(ESCALATED),
        returns=returns,
        forwarded=forwarded,
        ever_resolved=ever_resolved,
        first_contact_resolved=status == Status.resolved
        and not forwarded
        and returns == 0
        and follow_ups == 1,
        reopened=types.count(REOPENED),
        rating=rating,
        last_event_at=max(last_event_at, complaint.created_at),
    )
