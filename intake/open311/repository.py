"""Open311's SQL: its tokens and media URLs, the services (categories) and the request list."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.cache import Memo
from services.models import Category, Complaint, ComplaintAgency, Open311Request


@dataclass(frozen=True)
class ServiceRow:
    code: str
    name_id: str
    name_en: str
    keywords: tuple[str, ...]
    office_type: str | None
    ministry_code: str | None


# services.json is what every client reads first: cached per process, like intake's categories.
_SERVICES: Memo[str, tuple[ServiceRow, ...]] = Memo(ttl_seconds=60)


@dataclass(frozen=True)
class RequestFilter:
    since: datetime
    until: datetime
    service_codes: Collection[str] = ()
    statuses: Collection[str] = ()
    limit: int = 1000


class Open311Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def services(self) -> tuple[ServiceRow, ...]:
        """Active categories, by code."""
        return await _SERVICES.get("active", self._load_services) or ()

    async def _load_services(self) -> tuple[ServiceRow, ...]:
        rows = await self.session.execute(
            select(
                Category.code,
                Category.name_id,
                Category.name_en,
                Category.keywords,
                Category.office_type,
                Category.ministry_code,
            )
            .where(Category.active.is_(True))
            .order_by(Category.code)
        )
        return tuple(
            ServiceRow(
                r.code, r.name_id, r.name_en, tuple(r.keywords), r.office_type, r.ministry_code
            )
            for r in rows
        )

    async def add(self, request: Open311Request) -> None:
        self.session.add(request)
        await self.session.flush()

    async def of_complaint(self, complaint_id: uuid.UUID) -> Open311Request | None:
        return await self.session.get(Open311Request, complaint_id)

    async def by_token(self, token: str) -> tuple[Open311Request, str] | None:
        """The request of a token and its complaint's tracking id."""
        row = (
            await self.session.execute(
                select(Open311Request, Complaint.tracking_id)
                .join(Complaint, Complaint.id == Open311Request.complaint_id)
                .where(Open311Request.token == token)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def media_urls(self, complaint_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not complaint_ids:
            return {}
        rows = await self.session.execute(
            select(Open311Request.complaint_id, Open311Request.media_url).where(
                Open311Request.complaint_id.in_(complaint_ids),
                Open311Request.media_url.is_not(None),
            )
        )
        return {r.complaint_id: r.media_url for r in rows}

    async def by_tracking_ids(self, tracking_ids: Collection[str]) -> list[Complaint]:
        rows = await self.session.scalars(
            select(Complaint)
            .where(Complaint.tracking_id.in_(tracking_ids))
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
            .order_by(Complaint.created_at.desc(), Complaint.id.desc())
        )
        return list(rows)

    async def search(self, where: RequestFilter) -> list[Complaint]:
        """Public requests (never confidential ones), newest first, filed in [since, until]."""
        query = (
            select(Complaint)
            .where(
                Complaint.confidential.is_(False),
                Complaint.created_at >= where.since,
                Complaint.created_at <= where.until,
            )
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
            .order_by(Complaint.created_at.desc(), Complaint.id.desc())
            .limit(where.limit)
        )
        if where.service_codes:
            query = query.where(Complaint.category_code.in_(where.service_codes))
        if where.statuses:
            query = query.where(Complaint.status.in_(where.statuses))
        return list(await self.session.scalars(query))
