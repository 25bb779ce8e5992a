"""All of routing's SQL."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.models import Agency, Complaint, ComplaintAgency


class ComplaintRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, complaint_id: uuid.UUID) -> Complaint | None:
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.id == complaint_id)
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
        )

    def assign(self, complaint: Complaint, agency: Agency) -> ComplaintAgency:
        assignment = ComplaintAgency(id=uuid.uuid4(), agency=agency, active=True)
        complaint.assignments.append(assignment)
        return assignment


class AgencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, code: str) -> Agency | None:
        return await self.session.scalar(select(Agency).where(Agency.code == code))

    async def get(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def page(
        self, *, after: str | None, limit: int, region_code: str | None, kind: str | None
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
        return list(await self.session.scalars(query))
