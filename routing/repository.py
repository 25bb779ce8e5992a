"""All of routing's SQL."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload, selectinload

from services.cache import Memo
from services.complaints import AgencyRef
from services.models import Agency, Complaint, ComplaintAgency

# Read for every complaint routed; the directory changes rarely (admin edits show within a minute).
_AGENCIES_BY_CODE: Memo[str, AgencyRef] = Memo(ttl_seconds=60)
PREFETCHED = "routing.prefetched"


class ComplaintRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, complaint_id: uuid.UUID) -> Complaint | None:
        """The complaint with its assignments and their agencies."""
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.id == complaint_id)
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
        )

    async def get_bare(self, complaint_id: uuid.UUID) -> Complaint | None:
        """The complaint row alone: its assignments are not loaded (touching them raises).
        One prefetched by `load_bare` comes from the session, with no query."""
        # No loader options here: with options, get() queries even when the session has it.
        return await self.session.get(Complaint, complaint_id)

    async def load_bare(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        """Bring these complaints into the session in one query (for a batch of events). The
        session's identity map holds objects weakly, so the list is kept for the transaction."""
        rows = await self.session.scalars(
            select(Complaint).where(Complaint.id.in_(complaint_ids)).options(raiseload("*"))
        )
        self.session.info.setdefault(PREFETCHED, []).extend(rows.all())

    def assign(self, complaint: Complaint, agency: AgencyRef) -> ComplaintAgency:
        assignment = ComplaintAgency(
            id=uuid.uuid4(),
            complaint_id=complaint.id,
            agency_id=agency.id,
            assigned_at=datetime.now(UTC),
            active=True,
        )
        self.session.add(assignment)
        return assignment


class AgencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ref_by_code(self, code: str) -> AgencyRef | None:
        return await _AGENCIES_BY_CODE.get(code, lambda: self._ref_by_code(code))

    async def _ref_by_code(self, code: str) -> AgencyRef | None:
        row = (
            await self.session.execute(
                select(Agency.id, Agency.code, Agency.name).where(Agency.code == code)
            )
        ).first()
        return AgencyRef(row.id, row.code, row.name) if row is not None else None

    async def by_code(self, code: str) -> Agency | None:
        return await self.session.scalar(select(Agency).where(Agency.code == code))

    async def get(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def page(
        self,
        *,
        after: str | None,
        limit: int,
        region_code: str | None,
        kind: str | None,
        office_type: str | None = None,
        parent_id: uuid.UUID | None = None,
    ) -> list[Agency]:
        query = select(Agency).order_by(Agency.code).limit(limit)
        if after:
            query = query.where(Agency.code > after)
        if region_code:
            query = query.where(
                (Agency.region_code == region_code)
                | Agency.region_code.startswith(region_code + ".")
            )
        if kind:
            query = query.where(Agency.kind == kind)
        if office_type:
            query = query.where(Agency.office_type == office_type)
        if parent_id:
            query = query.where(Agency.parent_id == parent_id)
        return list(await self.session.scalars(query))
