"""All of the directory's SQL: agencies, categories' policy, disposition rules, and the seed."""

import uuid
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import Agency, Category, DispositionRule, Region, RegionLevel


class DirectoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reads shared by validation -------------------------------------------------------

    async def region_exists(self, code: str) -> bool:
        return (
            await self.session.scalar(select(Region.code).where(Region.code == code))
        ) is not None

    async def agency(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def agency_by_code(self, code: str) -> Agency | None:
        return await self.session.scalar(select(Agency).where(Agency.code == code))

    async def ancestors(self, agency_id: uuid.UUID) -> list[uuid.UUID]:
        """The agency and every agency above it (for refusing a parent that would make a cycle)."""
        rows = await self.session.execute(
            text(
                """
                WITH RECURSIVE up(id, parent_id, depth) AS (
                    SELECT id, parent_id, 0 FROM agencies WHERE id = :id
                    UNION ALL
                    SELECT a.id, a.parent_id, up.depth + 1
                    FROM agencies a JOIN up ON a.id = up.parent_id WHERE up.depth < 16
                )
                SELECT id FROM up
                """
            ),
            {"id": agency_id},
        )
        return [row.id for row in rows]

    # --- agencies --------------------------------------------------------------------------

    def add_agency(self, agency: Agency) -> None:
        self.session.add(agency)

    # --- categories ------------------------------------------------------------------------

    async def category(self, code: str) -> Category | None:
        return await self.session.get(Category, code)

    async def categories(self) -> list[Category]:
        return list(await self.session.scalars(select(Category).order_by(Category.code)))

    def add_category(self, category: Category) -> None:
        self.session.add(category)

    # --- rules -----------------------------------------------------------------------------

    async def rule(self, rule_id: uuid.UUID) -> DispositionRule | None:
        return await self.session.get(DispositionRule, rule_id)

    async def rules(
        self, *, category: str | None, after: tuple[str, int, str] | None, limit: int
    ) -> list[DispositionRule]:
        """By category, then priority, then id (the cursor is that triple)."""
        query = (
            select(DispositionRule)
            .order_by(DispositionRule.category_code, DispositionRule.priority, DispositionRule.id)
            .limit(limit)
        )
        if category:
            query = query.where(DispositionRule.category_code == category)
        if after:
            code, priority, ident = after
            query = query.where(
                text(
                    "(disposition_rules.category_code, disposition_rules.priority, "
                    "disposition_rules.id) > (:c, :p, CAST(:i AS uuid))"
                ).bindparams(c=code, p=priority, i=ident)
            )
        return list(await self.session.scalars(query))

    def add_rule(self, rule: DispositionRule) -> None:
        self.session.add(rule)

    async def delete_rule(self, rule: DispositionRule) -> None:
        await self.session.delete(rule)

    # --- the seed --------------------------------------------------------------------------

    async def governments(self) -> list[tuple[str, str, str]]:
        """(code, name, level) of every province and kabupaten/kota."""
        rows = await self.session.execute(
            select(Region.code, Region.name, Region.level).where(
                Region.level.in_([RegionLevel.province.value, RegionLevel.regency.value])
            )
        )
        return [(r.code, r.name, r.level) for r in rows]

    async def upsert_seed_agencies(self, rows: list[dict[str, Any]]) -> None:
        """One statement over arrays (~5,000 rows). Contacts and `active` are the admins': a row
        that exists keeps them."""
        columns = ("id", "code", "name", "kind", "region_code", "parent_id", "timezone")
        await self.session.execute(
            text(
                """
                INSERT INTO agencies
                    (id, code, name, kind, region_code, parent_id, timezone, office_type)
                SELECT id, code, name, kind, region_code, parent_id, timezone, office_type
                FROM unnest(
                    CAST(:id AS uuid[]), CAST(:code AS varchar[]), CAST(:name AS varchar[]),
                    CAST(:kind AS varchar[]), CAST(:region_code AS varchar[]),
                    CAST(:parent_id AS uuid[]), CAST(:timezone AS varchar[]),
                    CAST(:office_type AS varchar[])
                ) WITH ORDINALITY AS t(id, code, name, kind, region_code, parent_id, timezone,
                                       office_type, n)
                ORDER BY n
                ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                    region_code = excluded.region_code, parent_id = excluded.parent_id,
                    timezone = excluded.timezone, office_type = excluded.office_type
                """
            ),
            {column: [row[column] for row in rows] for column in (*columns, "office_type")},
        )

    async def fill_category_policy(
        self,
        code: str,
        *,
        office_type: str | None,
        ministry_code: str | None,
        verification: str,
        keywords: list[str],
    ) -> None:
        """Set a category's policy while nobody has set one (no office, ministry or keywords)."""
        await self.session.execute(
            update(Category)
            .where(
                Category.code == code,
                Category.office_type.is_(None),
                Category.ministry_code.is_(None),
                Category.keywords == [],
            )
            .values(
                office_type=office_type,
                ministry_code=ministry_code,
                verification=verification,
                keywords=keywords,
            )
        )

    async def insert_seed_rules(self, rows: list[dict[str, Any]]) -> None:
        """Insert the default rules that are not there (an edited one is left as it is)."""
        await self.session.execute(
            insert(DispositionRule).values(rows).on_conflict_do_nothing(index_elements=["id"])
        )
