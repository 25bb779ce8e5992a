"""The gateway's commit edge: one transaction per request (and per CLI command), committed here.

The gateway records no events, so this is services/uow.py without the outbox. A refusal that
must keep what it wrote (a replayed refresh token revokes its family, then answers 401) raises
`RefusalAfterWrite`: the edge commits, then lets the problem through.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from services.db import SessionMaker
from services.problems import ProblemError


class RefusalAfterWrite(ProblemError):
    """A problem answer whose writes commit anyway."""


@asynccontextmanager
async def transaction(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
        except RefusalAfterWrite:
            await session.commit()  # a refusal after a write keeps the write (family revocation)
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
