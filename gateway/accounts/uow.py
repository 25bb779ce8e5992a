"""The gateway's commit edge: one transaction per request (and per CLI command), committed here.

The gateway records only account events (gateway/accounts/events.py), for notifications'
contact directory: after the commit they are published (the fast path) when the gateway has a
publisher; else, or when the push fails, the workers' relay publishes them within seconds. A
refusal that must keep what it wrote (a replayed refresh token revokes its family, then answers
401) raises `RefusalAfterWrite`: the edge commits, then lets the problem through.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from services.db import SessionMaker
from services.events.outbox import Publisher, take_pending
from services.problems import ProblemError


class RefusalAfterWrite(ProblemError):
    """A problem answer whose writes commit anyway."""


@asynccontextmanager
async def transaction(
    sessionmaker: SessionMaker, publisher: Publisher | None = None
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
        except RefusalAfterWrite:
            await session.commit()  # a refusal after a write keeps the write (family revocation)
            raise
        except BaseException:
            await session.rollback()
            take_pending(session)
            raise
        await session.commit()
        events = take_pending(session)
    if publisher is not None:
        await publisher.publish(events)
