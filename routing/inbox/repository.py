"""All of the agency inbox's SQL: complaints with an active assignment to the caller's agencies,
their running clocks and their timeline."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.models import (
    Agency,
    Complaint,
    ComplaintAgency,
    ComplaintClock,
    ComplaintFollowUp,
    Event,
)


@dataclass(frozen=True)
class InboxFilter:
    """What the list is narrowed to. `agency_ids` None: every agency (admins)."""

    agency_ids: Collection[uuid.UUID] | None
    statuses: Collection[str] = ()
    overdue: bool | None = None
    category: str | None = None
    region_prefix: str | None = None
    created_from: date | None = None
    created_to: date | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _overdue_clock(now: datetime) -> Select[tuple[int]]:
    """A running clock of the complaint past its due time (paused ones are not running)."""
    return select(1).where(
        ComplaintClock.complaint_id == Complaint.id,
        ComplaintClock.stopped_at.is_(None),
        ComplaintClock.paused_at.is_(None),
        ComplaintClock.due_at < now,
    )


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, where: InboxFilter, *, before: uuid.UUID | None, limit: int, now: datetime
    ) -> list[Complaint]:
        """Newest first (complaint ids are time-ordered), the assignments not loaded."""
        assigned = select(1).where(
            ComplaintAgency.complaint_id == Complaint.id, ComplaintAgency.active.is_(True)
        )
        if where.agency_ids is not None:
            assigned = assigned.where(ComplaintAgency.agency_id.in_(list(where.agency_ids)))
        query = select(Complaint).where(exists(assigned)).order_by(Complaint.id.desc())
        if before is not None:
            query = query.where(Complaint.id < before)
        if where.statuses:
            query = query.where(Complaint.status.in_(list(where.statuses)))
        if where.category:
            query = query.where(Complaint.category_code == where.category)
        if where.region_prefix:
            query = query.where(
                (Complaint.region_code == where.region_prefix)
                | Complaint.region_code.startswith(where.region_prefix + ".", autoescape=True)
            )
        if where.created_from:
            query = query.where(Complaint.created_at >= _day_start(where.created_from))
        if where.created_to:
            query = query.where(
                Complaint.created_at < _day_start(where.created_to + timedelta(days=1))
            )
        if where.overdue is True:
            query = query.where(exists(_overdue_clock(now)))
        elif where.overdue is False:
            query = query.where(~exists(_overdue_clock(now)))
        return list(await self.session.scalars(query.limit(limit)))

    async def active_assignments(self, complaint_ids: Sequence[uuid.UUID]) -> list[ComplaintAgency]:
        """The active assignments of these complaints, with their agencies, oldest first."""
        if not complaint_ids:
            return []
        rows = await self.session.scalars(
            select(ComplaintAgency)
            .where(
                ComplaintAgency.complaint_id.in_(complaint_ids),
                ComplaintAgency.active.is_(True),
            )
            .order_by(ComplaintAgency.assigned_at, ComplaintAgency.id)
        )
        return list(rows)

    async def running_clocks(self, complaint_ids: Sequence[uuid.UUID]) -> list[ComplaintClock]:
        """Clocks not stopped (paused ones included: they still have a due time)."""
        if not complaint_ids:
            return []
        rows = await self.session.scalars(
            select(ComplaintClock)
            .where(
                ComplaintClock.complaint_id.in_(complaint_ids),
                ComplaintClock.stopped_at.is_(None),
            )
            .order_by(ComplaintClock.due_at)
        )
        return list(rows)

    async def by_tracking_id(self, tracking_id: str) -> Complaint | None:
        """The complaint with all its assignments (history too) and their agencies, locked
        against a concurrent action by the version column."""
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.tracking_id == tracking_id)
            .options(selectinload(Complaint.assignments))
        )

    async def written(self, complaint: Complaint) -> None:
        """Write the action's changes and read back what the database set (updated_at)."""
        await self.session.flush()
        await self.session.refresh(complaint, ["updated_at"])

    async def timeline(self, complaint_id: uuid.UUID) -> list[Event]:
        rows = await self.session.scalars(
            select(Event).where(Event.complaint_id == complaint_id).order_by(Event.id)
        )
        return list(rows)

    async def follow_ups(self, complaint_id: uuid.UUID) -> list[ComplaintFollowUp]:
        rows = await self.session.scalars(
            select(ComplaintFollowUp)
            .where(ComplaintFollowUp.complaint_id == complaint_id)
            .order_by(ComplaintFollowUp.created_at, ComplaintFollowUp.id)
        )
        return list(rows)

    def add_follow_up(
        self,
        complaint: Complaint,
        agency: Agency,
        text: str,
        *,
        actor_role: str,
        actor_id: str | None,
        event_id: uuid.UUID,
        now: datetime,
    ) -> ComplaintFollowUp:
        follow_up = ComplaintFollowUp(
            id=uuid.uuid4(),
            complaint_id=complaint.id,
            agency_id=agency.id,
            text=text,
            actor_role=actor_role,
            actor_id=actor_id,
            event_id=event_id,
            created_at=now,
        )
        self.session.add(follow_up)
        return follow_up

    async def agency(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    def add_assignment(
        self,
        complaint: Complaint,
        agency: Agency,
        *,
        source_id: uuid.UUID | None = None,
        now: datetime,
    ) -> ComplaintAgency:
        """A new active handler assignment, appended to the loaded `assignments`."""
        assignment = ComplaintAgency(
            id=uuid.uuid4(),
            complaint_id=complaint.id,
            agency_id=agency.id,
            assigned_at=now,
            active=True,
            status="assigned",
            role="handler",
            source_id=source_id,
        )
        assignment.agency = agency
        complaint.assignments.append(assignment)
        return assignment
