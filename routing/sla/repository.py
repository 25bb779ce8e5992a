"""All of the SLA clocks' SQL (routing owns complaint_clocks and complaint_agencies)."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from services.cache import Memo
from services.domain.lifecycle import Status
from services.models import Agency, Category, Complaint, ComplaintAgency
from services.models.routing import ClockKind, ComplaintClock


@dataclass(frozen=True)
class AgencyNode:
    """An agency as the clocks need it: where it counts days, and who is above it."""

    id: uuid.UUID
    code: str
    name: str
    timezone: str
    parent_id: uuid.UUID | None


# The directory changes rarely; a minute of staleness is fine for deadlines and escalation.
_AGENCIES: Memo[uuid.UUID, AgencyNode] = Memo(ttl_seconds=60)
_COMPLETION_DAYS: Memo[str, tuple[int | None]] = Memo(ttl_seconds=60)
# An agency's time zone follows its province: it does not change under a running process.
_TIMEZONES: Memo[uuid.UUID, str] = Memo(ttl_seconds=600)


class ClockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, clock: ComplaintClock) -> None:
        self.session.add(clock)

    async def running(
        self, complaint_id: uuid.UUID, kinds: Iterable[ClockKind] | None = None
    ) -> list[ComplaintClock]:
        """The complaint's clocks that have not stopped (paused ones included)."""
        query = select(ComplaintClock).where(
            ComplaintClock.complaint_id == complaint_id, ComplaintClock.stopped_at.is_(None)
        )
        if kinds is not None:
            query = query.where(ComplaintClock.kind.in_([k.value for k in kinds]))
        return list(await self.session.scalars(query.order_by(ComplaintClock.started_at)))

    async def stop(
        self,
        complaint_id: uuid.UUID,
        at: datetime,
        kinds: Iterable[ClockKind] | None = None,
    ) -> None:
        """Stop the complaint's running clocks (of `kinds`), in one statement."""
        statement = (
            update(ComplaintClock)
            .where(ComplaintClock.complaint_id == complaint_id, ComplaintClock.stopped_at.is_(None))
            .values(stopped_at=at, next_check_at=None)
            .execution_options(synchronize_session="fetch")
        )
        if kinds is not None:
            statement = statement.where(ComplaintClock.kind.in_([k.value for k in kinds]))
        await self.session.execute(statement)

    async def stop_verification(self, complaint_ids: Sequence[uuid.UUID], at: datetime) -> None:
        """Stop the verification clocks of many complaints, in one statement."""
        await self.session.execute(
            update(ComplaintClock)
            .where(
                ComplaintClock.complaint_id.in_(complaint_ids),
                ComplaintClock.kind == ClockKind.verification.value,
                ComplaintClock.stopped_at.is_(None),
            )
            .values(stopped_at=at, next_check_at=None)
            .execution_options(synchronize_session="fetch")
        )

    async def agency_timezone(self, agency_id: uuid.UUID) -> str | None:
        return await _TIMEZONES.get(agency_id, lambda: self._agency_timezone(agency_id))

    async def _agency_timezone(self, agency_id: uuid.UUID) -> str | None:
        found: str | None = await self.session.scalar(
            select(Agency.timezone).where(Agency.id == agency_id)
        )
        return found

    async def due(self, now: datetime, limit: int) -> list[ComplaintClock]:
        """Running, unpaused clocks whose next check has come, through the partial index
        `ix_complaint_clocks_due`; rows another sweep holds are skipped, not waited for."""
        return list(
            await self.session.scalars(
                select(ComplaintClock)
                .where(
                    ComplaintClock.stopped_at.is_(None),
                    ComplaintClock.paused_at.is_(None),
                    ComplaintClock.next_check_at <= now,
                )
                .order_by(ComplaintClock.next_check_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )


class ComplaintReadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def bare(self, complaint_id: uuid.UUID) -> Complaint | None:
        """The complaint row (from the session when the worker prefetched it)."""
        return await self.session.get(Complaint, complaint_id)

    async def many(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Complaint]:
        """Complaint rows by id, in one query (their assignments are read separately)."""
        if not complaint_ids:
            return {}
        rows = await self.session.scalars(select(Complaint).where(Complaint.id.in_(complaint_ids)))
        return {c.id: c for c in rows}

    async def held_until(self, day: date, limit: int) -> list[Complaint]:
        """Up to `limit` held complaints whose `resume_on` is `day` or before, each taken by one
        sweep (`FOR UPDATE SKIP LOCKED`, as the due clocks are)."""
        rows = await self.session.scalars(
            select(Complaint)
            .where(
                Complaint.status == Status.on_hold.value,
                Complaint.resume_on <= day,
                Complaint.held_from_status.is_not(None),
            )
            .order_by(Complaint.resume_on, Complaint.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows)

    async def assignments(self, complaint_ids: Sequence[uuid.UUID]) -> list[ComplaintAgency]:
        """The complaints' assignments (active or not) with their agencies, oldest first."""
        if not complaint_ids:
            return []
        rows = await self.session.scalars(
            select(ComplaintAgency)
            .where(ComplaintAgency.complaint_id.in_(complaint_ids))
            .options(joinedload(ComplaintAgency.agency))
            .order_by(ComplaintAgency.assigned_at, ComplaintAgency.id)
        )
        return list(rows.unique())

    async def completion_override(self, category_code: str) -> int | None:
        found = await _COMPLETION_DAYS.get(
            category_code, lambda: self._completion_override(category_code)
        )
        return found[0] if found is not None else None

    async def _completion_override(self, category_code: str) -> tuple[int | None] | None:
        row = (
            await self.session.execute(
                select(Category.completion_days).where(Category.code == category_code)
            )
        ).first()
        return (row.completion_days,) if row is not None else None


class AssignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, assignment: ComplaintAgency) -> None:
        self.session.add(assignment)

    async def agency(self, agency_id: uuid.UUID) -> AgencyNode | None:
        return await _AGENCIES.get(agency_id, lambda: self._agency(agency_id))

    async def _agency(self, agency_id: uuid.UUID) -> AgencyNode | None:
        row = (
            await self.session.execute(
                select(
                    Agency.id, Agency.code, Agency.name, Agency.timezone, Agency.parent_id
                ).where(Agency.id == agency_id)
            )
        ).first()
        if row is None:
            return None
        return AgencyNode(row.id, row.code, row.name, row.timezone, row.parent_id)

    async def agency_row(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)
