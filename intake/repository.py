"""All of intake's SQL."""

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.models import Category, Complaint, ComplaintAgency, Event, IdempotencyRecord, Region


class ReferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def region(self, code: str) -> Region | None:
        return await self.session.get(Region, code)

    async def category_exists(self, code: str) -> bool:
        return bool(
            await self.session.scalar(
                select(exists().where(Category.code == code, Category.active.is_(True)))
            )
        )

    async def categories(self) -> list[Category]:
        rows = await self.session.scalars(
            select(Category).where(Category.active.is_(True)).order_by(Category.code)
        )
        return list(rows)


class ComplaintRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, complaint: Complaint) -> None:
        self.session.add(complaint)
        await self.session.flush()

    async def by_tracking_id(self, tracking_id: str) -> Complaint | None:
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.tracking_id == tracking_id)
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
        )

    async def timeline(self, complaint_id: uuid.UUID) -> list[Event]:
        rows = await self.session.scalars(
            select(Event).where(Event.complaint_id == complaint_id).order_by(Event.id)
        )
        return list(rows)


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, principal: str, key: str) -> IdempotencyRecord | None:
        return await self.session.get(IdempotencyRecord, (principal, key))

    async def add(self, record: IdempotencyRecord) -> None:
        self.session.add(record)
        await self.session.flush()
