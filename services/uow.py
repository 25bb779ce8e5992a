"""The edge: one transaction per request or job, committed here and nowhere else."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from services.db import SessionMaker
from services.events.outbox import Publisher, take_pending


@asynccontextmanager
async def unit_of_work(
    sessionmaker: SessionMaker, publisher: Publisher
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            take_pending(session)
            raise
        events = take_pending(session)
    await publisher.publish(events)
