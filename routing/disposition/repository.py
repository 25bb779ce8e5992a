"""Disposition's SQL: rules, categories and agencies (cached per process), assignments.

Reference reads are memoised for `CACHE_SECONDS` per process, so routing a batch of complaints
queries nothing but the batch itself: an admin's change of a rule, a category's policy or an
agency shows within a minute."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cache import Memo
from services.complaints import AgencyRef
from services.models import (
    Agency,
    AssignmentRole,
    AssignmentStatus,
    Category,
    Complaint,
    ComplaintAgency,
    DispositionRule,
    Region,
)

CACHE_SECONDS = 60


@dataclass(frozen=True)
class AgencyRow:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    region_code: str | None
    parent_id: uuid.UUID | None
    office_type: str | None
    timezone: str
    active: bool

    @property
    def ref(self) -> AgencyRef:
        return AgencyRef(self.id, self.code, self.name)

    def covers(self, region_code: str) -> bool:
        """Its scope holds the region: a national agency (no region) covers every region."""
        scope = self.region_code
        return scope is None or region_code == scope or region_code.startswith(scope + ".")


@dataclass(frozen=True)
class CategoryRow:
    code: str
    name_id: str
    active: bool
    office_type: str | None
    ministry_code: str | None
    verification: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class RuleRow:
    id: uuid.UUID
    category_code: str
    report_type: str | None
    region_prefix: str | None
    target_level: str
    office_type: str | None
    agency_id: uuid.UUID | None
    priority: int
    description: str | None


_CATEGORIES: Memo[str, dict[str, CategoryRow]] = Memo(ttl_seconds=CACHE_SECONDS)
_RULES: Memo[str, tuple[RuleRow, ...]] = Memo(ttl_seconds=CACHE_SECONDS)
_AGENCY_BY_ID: Memo[uuid.UUID, AgencyRow] = Memo(ttl_seconds=CACHE_SECONDS)
_AGENCY_BY_CODE: Memo[str, AgencyRow] = Memo(ttl_seconds=CACHE_SECONDS)
_GOVERNMENT: Memo[tuple[str, str], AgencyRow] = Memo(ttl_seconds=CACHE_SECONDS)
_OFFICE: Memo[tuple[uuid.UUID, str], AgencyRow] = Memo(ttl_seconds=CACHE_SECONDS)
_REGIONS: Memo[str, bool] = Memo(ttl_seconds=None)  # region codes never change


def clear_caches() -> None:
    """Forget every cached rule, category and agency (tests that write them call this)."""
    for memo in (_CATEGORIES, _RULES, _AGENCY_BY_ID, _AGENCY_BY_CODE, _GOVERNMENT, _OFFICE):
        memo.clear()


_AGENCY_COLUMNS = (
    Agency.id,
    Agency.code,
    Agency.name,
    Agency.kind,
    Agency.region_code,
    Agency.parent_id,
    Agency.office_type,
    Agency.timezone,
    Agency.active,
)


class DispositionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Reference data (cached)

    async def categories(self) -> dict[str, CategoryRow]:
        return await _CATEGORIES.get("all", self._categories) or {}

    async def _categories(self) -> dict[str, CategoryRow]:
        rows = await self.session.scalars(select(Category))
        return {
            c.code: CategoryRow(
                c.code,
                c.name_id,
                c.active,
                c.office_type,
                c.ministry_code,
                c.verification,
                tuple(c.keywords or ()),
            )
            for c in rows
        }

    async def rules(self, category_code: str) -> tuple[RuleRow, ...]:
        return await _RULES.get(category_code, lambda: self._rules(category_code)) or ()

    async def _rules(self, category_code: str) -> tuple[RuleRow, ...]:
        rows = await self.session.scalars(
            select(DispositionRule).where(
                DispositionRule.category_code == category_code, DispositionRule.active.is_(True)
            )
        )
        return tuple(
            RuleRow(
                r.id,
                r.category_code,
                r.report_type,
                r.region_prefix,
                r.target_level,
                r.office_type,
                r.agency_id,
                r.priority,
                r.description,
            )
            for r in rows
        )

    async def region_exists(self, code: str) -> bool:
        return bool(await _REGIONS.get(code, lambda: self._region(code)))

    async def _region(self, code: str) -> bool | None:
        found = await self.session.scalar(select(Region.code).where(Region.code == code))
        return True if found is not None else None

    async def agency(self, agency_id: uuid.UUID) -> AgencyRow | None:
        return await _AGENCY_BY_ID.get(
            agency_id, lambda: self._agency(Agency.id == agency_id, Agency.code)
        )

    async def agency_by_code(self, code: str) -> AgencyRow | None:
        return await _AGENCY_BY_CODE.get(
            code, lambda: self._agency(Agency.code == code, Agency.code)
        )

    async def government(self, kind: str, region_code: str) -> AgencyRow | None:
        """The active province or kabupaten/kota government of exactly that region."""
        return await _GOVERNMENT.get(
            (kind, region_code),
            lambda: self._agency(
                (Agency.kind == kind)
                & (Agency.region_code == region_code)
                & Agency.active.is_(True),
                Agency.code,
            ),
        )

    async def office(self, parent_id: uuid.UUID, office_type: str) -> AgencyRow | None:
        """The active office (OPD) of that type directly under a government."""
        return await _OFFICE.get(
            (parent_id, office_type),
            lambda: self._agency(
                (Agency.parent_id == parent_id)
                & (Agency.office_type == office_type)
                & Agency.active.is_(True),
                Agency.code,
            ),
        )

    async def _agency(self, where: object, order: object) -> AgencyRow | None:
        row = (
            await self.session.execute(
                select(*_AGENCY_COLUMNS).where(where).order_by(order).limit(1)  # type: ignore[arg-type]
            )
        ).first()
        return AgencyRow(*row) if row is not None else None

    # Writes

    def assign(
        self,
        complaint: Complaint,
        agency_id: uuid.UUID,
        *,
        source_id: uuid.UUID | None = None,
    ) -> ComplaintAgency:
        """A new active handler assignment (status assigned); flushed with the transaction."""
        assignment = ComplaintAgency(
            id=uuid.uuid4(),
            complaint_id=complaint.id,
            agency_id=agency_id,
            assigned_at=datetime.now(UTC),
            active=True,
            status=AssignmentStatus.assigned.value,
            role=AssignmentRole.handler.value,
            source_id=source_id,
        )
        self.session.add(assignment)
        return assignment
