"""The demo seeder's SQL: what the world holds (agencies, categories, complaints so far) and the
bulk writes (PostgreSQL COPY of whole chunks, in the caller's transaction)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import Agency, Category, Complaint


@dataclass(frozen=True)
class AgencyFact:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    region_code: str | None
    parent_id: uuid.UUID | None
    timezone: str


# What a seed writes (COPY), and the statistics it builds.
BULK_TABLES = (
    "complaints",
    "complaint_agencies",
    "complaint_clocks",
    "complaint_follow_ups",
    "events",
    "stats_complaint_facts",
    "stats_weekly",
    "stats_weekly_agencies",
    "stats_spans",
)


class DemoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def complaint_count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Complaint)) or 0)

    async def tracking_ids(self) -> set[str]:
        return set((await self.session.scalars(select(Complaint.tracking_id))).all())

    async def agencies(self) -> list[AgencyFact]:
        rows = await self.session.execute(
            select(
                Agency.id,
                Agency.code,
                Agency.name,
                Agency.kind,
                Agency.region_code,
                Agency.parent_id,
                Agency.timezone,
            ).where(Agency.active)
        )
        return [AgencyFact(*row) for row in rows]

    async def manual_categories(self) -> set[str]:
        rows = await self.session.scalars(
            select(Category.code).where(Category.active, Category.verification == "manual")
        )
        return set(rows)

    async def active_categories(self) -> list[str]:
        return list(await self.session.scalars(select(Category.code).where(Category.active)))

    async def copy(
        self, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]
    ) -> None:
        """COPY rows into `table` inside the session's transaction (asyncpg's binary COPY)."""
        if not records:
            return
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(table, records=records, columns=list(columns))

    async def analyze(self) -> None:
        """Fresh planner statistics for the tables a seed filled: after a bulk load they are
        stale until autovacuum analyzes them (never, where autovacuum is off), and plans made
        for an empty table read a million rows the wrong way."""
        await self.session.execute(text(f"ANALYZE {', '.join(BULK_TABLES)}"))
