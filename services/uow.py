"""The edge: one transaction per request or job, committed here and nowhere else."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from services.db import SessionMaker
from services.events.outbox import Publisher, take_pending
from services.logging import get_logger

log = get_logger(__name__)
AFTER_COMMIT = "aduan.after_commit"
BEFORE_COMMIT = "aduan.before_commit"
AfterCommit = Callable[[], Awaitable[object]]
BeforeCommit = Callable[[], Awaitable[object]]


def before_commit(session: AsyncSession, key: str, callback: BeforeCommit) -> None:
    """Run `callback` inside the transaction, just before the unit of work commits (once per
    `key`, however often it is registered): for work that must follow what the whole
    transaction did, such as routing's clocks following the events it recorded."""
    session.info.setdefault(BEFORE_COMMIT, {}).setdefault(key, callback)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the unit of work has committed (never after a rollback).

    For side effects outside the database (enqueueing jobs): a failure is logged, not raised,
    so whatever the callback does must also be recovered by a sweeper or relay.
    """
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: SessionMaker, publisher: Publisher
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        try:
            yield session
            hooks: dict[str, BeforeCommit] = session.info.pop(BEFORE_COMMIT, {})
            for hook in hooks.values():
                await hook()
            await session.commit()
        except BaseException:
            await session.rollback()
            take_pending(session)
            session.info.pop(AFTER_COMMIT, None)
            session.info.pop(BEFORE_COMMIT, None)
            raise
        events = take_pending(session)
        callbacks: list[AfterCommit] = session.info.pop(AFTER_COMMIT, [])
    await publisher.publish(events)
    for callback in callbacks:
        try:
            await callback()
        except Exception as exc:  # committed already; recovery is the sweeper's
            log.warning("after-commit callback failed: %r", exc)
