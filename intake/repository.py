"""All of intake's SQL."""

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    REAL,
    ColumnElement,
    and_,
    bindparam,
    cast,
    delete,
    func,
    inspect,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.cache import Memo
from services.domain.regions import regency_code
from services.models import (
    Agency,
    Category,
    Complaint,
    ComplaintAgency,
    Event,
    IdempotencyRecord,
    Region,
)
from services.models.complaint import REGENCY_OF_REGION

SEARCH_CONFIG = "indonesian"  # PostgreSQL's built-in configuration (no contrib needed)


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

    async def region_name(self, code: str | None) -> str | None:
        if code is None:  # an Open311 request waiting for an admin to set its region
            return None
        return await _REGION_NAMES.get(
            code, lambda: self.session.scalar(select(Region.name).where(Region.code == code))
        )

    async def agency_exists(self, agency_id: uuid.UUID) -> bool:
        """An active agency of the directory (routing's table, read only here)."""
        found = await self.session.scalar(
            select(Agency.id).where(Agency.id == agency_id, Agency.active.is_(True))
        )
        return found is not None

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


@dataclass(frozen=True)
class ListFilter:
    """The public listing's filters; None: no filter."""

    region: str | None = None  # a region code prefix, by whole segments
    category: str | None = None
    report_type: str | None = None
    status: str | None = None
    filed_from: datetime | None = None  # inclusive
    filed_before: datetime | None = None  # exclusive
    q: str | None = None  # full-text, websearch syntax ("jalan rusak" -lampu)


@dataclass(frozen=True)
class SimilarComplaint:
    tracking_id: str
    title: str
    status: str
    rank: float


def _tsquery_literal(lexemes: Collection[str]) -> str:
    """Lexemes as a tsquery text matching any of them (quoted: a lexeme may hold `@`, `:`)."""
    quoted = ("'" + lex.replace("\\", "\\\\").replace("'", "''") + "'" for lex in lexemes)
    return " | ".join(quoted)


class ComplaintRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, complaint: Complaint) -> None:
        self.session.add(complaint)

    async def insert_unique(
        self, complaint: Complaint, new_tracking_id: Callable[[], str], attempts: int
    ) -> int:
        """Insert `complaint`'s row, drawing a new tracking id while the drawn one is taken;
        returns the collisions met. `INSERT … ON CONFLICT (tracking_id) DO NOTHING` instead of
        an ORM flush in a savepoint: a collision undoes nothing, and the create saves the
        savepoint's two round trips. The object stays out of the session (nothing after a
        create reads it back); its column defaults are set on it as a flush would."""
        table = Complaint.__table__
        state = inspect(complaint)
        for column in table.columns:
            default = column.default
            if column.key not in state.dict and default is not None and default.is_scalar:
                setattr(complaint, column.key, default.arg)
        values = {
            c.key: state.dict[c.key]
            for c in table.columns
            if c.computed is None and c.key in state.dict
        }
        for attempt in range(attempts):
            inserted = await self.session.scalar(
                insert(Complaint)
                .values(values)
                .on_conflict_do_nothing(index_elements=[Complaint.tracking_id])
                .returning(Complaint.id)
            )
            if inserted is not None:
                return attempt
            complaint.tracking_id = values["tracking_id"] = new_tracking_id()
        raise RuntimeError(f"no free tracking id after {attempts} tries")

    async def lock_external_ref(self, source: str, external_ref: str) -> None:
        """Serialise forwards of one external_ref until this transaction ends."""
        await self.session.execute(
            select(
                func.pg_advisory_xact_lock(
                    func.hashtextextended(f"external_ref\n{source}\n{external_ref}", 0)
                )
            )
        )

    async def by_external_ref(self, source: str, external_ref: str) -> Complaint | None:
        return await self.session.scalar(
            select(Complaint)
            .where(Complaint.submitted_by == source, Complaint.external_ref == external_ref)
            .options(selectinload(Complaint.assignments).joinedload(ComplaintAgency.agency))
        )

    async def public_page(
        self, where: ListFilter, after: tuple[float | None, uuid.UUID] | None, limit: int
    ) -> list[tuple[Complaint, float | None]]:
        """Non-confidential complaints, newest first, or by rank (then newest) with `q`.
        Keyset pagination: `after` is the (rank, id) of the last row of the previous page, so
        rows filed meanwhile neither repeat nor shift a page."""
        conditions: list[ColumnElement[bool]] = [Complaint.confidential.is_(False)]
        if where.region:
            conditions.append(
                or_(
                    Complaint.region_code == where.region,
                    Complaint.region_code.startswith(where.region + ".", autoescape=True),
                )
            )
        if where.category:
            conditions.append(Complaint.category_code == where.category)
        if where.report_type:
            conditions.append(Complaint.report_type == where.report_type)
        if where.status:
            conditions.append(Complaint.status == where.status)
        if where.filed_from:
            conditions.append(Complaint.created_at >= where.filed_from)
        if where.filed_before:
            conditions.append(Complaint.created_at < where.filed_before)
        if not where.q:
            if after is not None:
                conditions.append(Complaint.id < after[1])
            rows = await self.session.scalars(
                select(Complaint).where(*conditions).order_by(Complaint.id.desc()).limit(limit)
            )
            return [(row, None) for row in rows]
        tsquery = func.websearch_to_tsquery(literal(SEARCH_CONFIG).cast(REGCONFIG), where.q)
        rank = func.ts_rank(Complaint.search, tsquery)
        conditions.append(Complaint.search.bool_op("@@")(tsquery))
        if after is not None and after[0] is not None:
            last_rank = bindparam("last_rank", after[0], type_=REAL)
            conditions.append(
                or_(rank < last_rank, and_(rank == last_rank, Complaint.id < after[1]))
            )
        result = await self.session.execute(
            select(Complaint, rank)
            .where(*conditions)
            .order_by(rank.desc(), Complaint.id.desc())
            .limit(limit)
        )
        return [(row[0], float(row[1])) for row in result]

    async def public_titles(self, tracking_ids: Collection[str]) -> dict[str, str]:
        """Titles of the non-confidential complaints among `tracking_ids`."""
        if not tracking_ids:
            return {}
        rows = await self.session.execute(
            select(Complaint.tracking_id, Complaint.title).where(
                Complaint.tracking_id.in_(list(tracking_ids)), Complaint.confidential.is_(False)
            )
        )
        return {r[0]: r[1] for r in rows}

    async def similar_open(
        self,
        *,
        text: str,
        region_prefix: str,
        category: str,
        since: datetime,
        open_statuses: Collection[str],
        threshold: float,
        limit: int,
        candidates: int,
    ) -> list[SimilarComplaint]:
        """Open, non-confidential complaints of the region prefix and category filed since
        `since` whose text ranks above `threshold` against any word of `text` (the rank scaled
        by the query's size, see below). Only the `candidates` most recently filed ones that
        share a word are ranked: one busy kabupaten/kota costs the same as a quiet one."""
        lexemes = await self.session.scalar(
            select(
                func.tsvector_to_array(
                    func.to_tsvector(literal(SEARCH_CONFIG).cast(REGCONFIG), text)
                )
            )
        )
        if not lexemes:
            return []
        tsquery = cast(literal(_tsquery_literal(lexemes)), TSQUERY)
        # Newest first along ix_complaints_duplicate_hint, stopping after `candidates` rows.
        recent = (
            select(
                Complaint.id,
                Complaint.tracking_id,
                Complaint.title,
                Complaint.status,
                Complaint.search,
            )
            .where(
                Complaint.confidential.is_(False),
                Complaint.status.in_(list(open_statuses)),
                Complaint.category_code == category,
                _within(region_prefix),
                Complaint.created_at >= since,
                Complaint.search.bool_op("@@")(tsquery),
            )
            .order_by(Complaint.created_at.desc())
            .limit(candidates)
            .subquery("recent")
        )
        # ts_rank of an OR query shrinks with the number of its words: scaled back by it (over
        # the shorter text's word count) it is about the share of the shorter text's words the
        # other one holds, so a long new complaint finds its short twin as a short one does.
        scale = len(lexemes) / func.greatest(
            1, func.least(len(lexemes), func.length(recent.c.search))
        )
        rank = (func.ts_rank(recent.c.search, tsquery) * scale).label("rank")
        rows = await self.session.execute(
            select(recent.c.tracking_id, recent.c.title, recent.c.status, rank)
            .where(rank > threshold)
            .order_by(rank.desc(), recent.c.id.desc())
            .limit(limit)
        )
        return [SimilarComplaint(r[0], r[1], r[2], float(r[3])) for r in rows]

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


def _within(region_prefix: str) -> ColumnElement[bool]:
    """The region prefix's complaints. For a kabupaten/kota, an equality on the regency
    expression of ix_complaints_duplicate_hint (the same text, so the planner matches it), so
    the scan reads that regency's complaints of the category since `since`, however large
    the table; a province prefix (a complaint filed at province level) scans by prefix."""
    if regency_code(region_prefix) == region_prefix:
        return REGENCY_OF_REGION == region_prefix  # noqa: SIM300 (a column, not a constant)
    return or_(
        Complaint.region_code == region_prefix,
        Complaint.region_code.startswith(region_prefix + ".", autoescape=True),
    )


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
