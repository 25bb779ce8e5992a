"""The demo seeder's SQL: what the world holds (agencies, categories, complaints so far) and the
bulk writes (PostgreSQL COPY of whole chunks, in the caller's transaction)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
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
