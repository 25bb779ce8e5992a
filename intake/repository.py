"""All of intake's SQL."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.cache import Memo
from services.models import Category, Complaint, ComplaintAgency, Event, IdempotencyRecord, Region


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name_id: str
    name_en: str


# Reference data is read on every create: cached per process (see services.cache).
_REGION_NAMES: Memo[str, str] = Memo(ttl_seconds=None)
_CATEGORIES: Memo[str, tuple[CategoryInfo, ...]] = Memo(ttl_seconds=60)


class ReferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def region_name(self, code: str) -> str | None:
        return await _REGION_NAMES.get(
            code, lambda: self.session.scalar(select(Region.name).where(Region.code == code))
        )

    async def category_exists(self, code: str) -> bool:
        return any(c.code == code for c in await self.categories())

    async def categories(self) -> tuple[CategoryInfo, ...]:
        """Active categories, by code."""
        return await _CATEGORIES.get("active", self._load_categories) or ()

    async def _load_categories(self) -> tuple[CategoryInfo, ...]:
        rows = await self.session.execute(
            select(Category.code, Category.name_id, Category.name_en)
            .where(Category.active.is_(True))
            .order_by(Category.code)
        )
        return tuple(CategoryInfo(r.code, r.name_id, r.name_en) for r in rows)


class ComplaintRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, complaint: Complaint) -> None:
        self.session.add(complaint)

    async def flush(self) -> None:
        await self.session.flush()

    async def by_tracking_id(self, tracking_id: str) -> Complaint | None:
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.tracking_id == tracking_id)
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
        )

    async def by_id(self, complaint_id: uuid.UUID) -> Complaint | None:
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.id == complaint_id)
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
        )

    async def by_reporter_account(
        self, account_id: uuid.UUID, before_id: uuid.UUID | None, limit: int
    ) -> list[Complaint]:
        """Newest first (ids are UUIDv7, so time-ordered), `before_id` exclusive."""
        query = select(Complaint).where(Complaint.reporter_account_id == account_id)
        if before_id is not None:
            query = query.where(Complaint.id < before_id)
        rows = await self.session.scalars(query.order_by(Complaint.id.desc()).limit(limit))
        return list(rows)

    async def timeline(self, complaint_id: uuid.UUID) -> list[Event]:
        rows = await self.session.scalars(
            select(Event).where(Event.complaint_id == complaint_id).order_by(Event.id)
        )
        return list(rows)


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, principal: str, key: str) -> None:
        """Serialise requests with the same key until this transaction ends: a concurrent
        retry waits for the first request's commit, then finds its answer and replays it."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{principal}\n{key}", 0)))
        )

    async def get(self, principal: str, key: str) -> IdempotencyRecord | None:
        return await self.session.get(IdempotencyRecord, (principal, key))

    async def purge(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete(self, record: IdempotencyRecord) -> None:
        await self.session.delete(record)
        await self.session.flush()

    async def add(self, record: IdempotencyRecord) -> None:
        self.session.add(record)
        await self.session.flush()
