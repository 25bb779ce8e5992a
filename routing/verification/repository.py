"""Verification's SQL: the queue, the complaint an action names, the reasons of each."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from services.domain.lifecycle import Status
from services.events.catalogue import EventType
from services.models import AssignmentStatus, Complaint, ComplaintAgency, Event


@dataclass(frozen=True)
class QueueFilter:
    status: str = Status.submitted.value
    reason: str | None = None
    category: str | None = None
    region_prefix: str | None = None  # a region and everything inside it
    scope_region: str | None = None  # a coordinator's region (None: every region)
    since: datetime | None = None
    until: datetime | None = None


class VerificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_bare(self, complaint_id: uuid.UUID) -> Complaint | None:
        """The complaint alone (a batch's rows were prefetched into the session)."""
        return await self.session.get(Complaint, complaint_id)

    async def by_tracking_id(self, tracking_id: str) -> Complaint | None:
        """The complaint row alone (its assignments are not loaded: touching them raises)."""
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.tracking_id == tracking_id.upper())
            .options(raiseload(Complaint.assignments))
        )

    async def exists(self, tracking_id: str) -> bool:
        found = await self.session.scalar(
            select(Complaint.id).where(Complaint.tracking_id == tracking_id.upper())
        )
        return found is not None

    async def returned_by(self, complaint_id: uuid.UUID) -> list[uuid.UUID]:
        """The agencies that sent this complaint back as not theirs (bukan wewenang)."""
        rows = await self.session.scalars(
            select(ComplaintAgency.agency_id).where(
                ComplaintAgency.complaint_id == complaint_id,
                ComplaintAgency.status == AssignmentStatus.returned.value,
            )
        )
        return list(rows)

    async def page(
        self, where: QueueFilter, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Complaint]:
        """Oldest first (a queue), by (created_at, id)."""
        query = (
            select(Complaint)
            .where(Complaint.status == where.status)
            .options(raiseload(Complaint.assignments))
            .order_by(Complaint.created_at, Complaint.id)
            .limit(limit)
        )
        if where.status == Status.on_hold:
            # Only the holds of the verification stage, not an agency's tunda.
            query = query.where(
                Complaint.held_from_status.in_([Status.submitted.value, Status.verified.value])
            )
        if after is not None:
            query = query.where(tuple_(Complaint.created_at, Complaint.id) > after)
        for prefix in (where.scope_region, where.region_prefix):
            if prefix:
                query = query.where(
                    (Complaint.region_code == prefix)
                    | Complaint.region_code.startswith(prefix + ".", autoescape=True)
                )
        if where.category:
            query = query.where(Complaint.category_code == where.category)
        if where.since is not None:
            query = query.where(Complaint.created_at >= where.since)
        if where.until is not None:
            query = query.where(Complaint.created_at < where.until)
        if where.reason:
            query = query.where(
                exists().where(
                    Event.complaint_id == Complaint.id,
                    Event.type == EventType.complaint_verification_required.value,
                    Event.data.contains({"reasons": [where.reason]}),
                )
            )
        return list(await self.session.scalars(query))

    async def verification_notes(
        self, complaint_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """The data of each complaint's latest `complaint.verification_required`, in one query."""
        if not complaint_ids:
            return {}
        rows = await self.session.execute(
            select(Event.complaint_id, Event.data)
            .where(
                Event.complaint_id.in_(complaint_ids),
                Event.type == EventType.complaint_verification_required.value,
            )
            .ext(distinct_on(Event.complaint_id))
            .order_by(Event.complaint_id, Event.id.desc())  # ids are UUIDv7: latest first
        )
        return {row.complaint_id: row.data for row in rows if row.complaint_id is not None}
