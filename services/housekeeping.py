"""Periodic chores an API process runs beside its requests (a service without a worker, such
as intake, keeps its own tables tidy this way). Each run is one unit of work: the edge commits.

Every replica runs them; each chore must be safe to run concurrently (a DELETE of what expired).
"""

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.logging import get_logger
from services.runtime import Runtime
from services.uow import unit_of_work

log = get_logger(__name__)


@dataclass(frozen=True)
class Chore:
    name: str
    every_seconds: float
    run: Callable[[AsyncSession], Awaitable[int]]  # returns how many rows it touched


async def run_once(runtime: Runtime, chore: Chore) -> int:
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
        touched = await chore.run(session)
    if touched:
        log.info("%s: %d rows", chore.name, touched, extra={"chore": chore.name})
    return touched


async def _loop(runtime: Runtime, chore: Chore) -> None:
    while True:
        # Jittered, so replicas started together do not all run at once.
        await asyncio.sleep(chore.every_seconds * random.uniform(0.5, 1.0))
        try:
            await run_once(runtime, chore)
        except Exception as exc:  # the next round tries again; requests are unaffected
            log.warning("%s failed: %r", chore.name, exc)


def start(runtime: Runtime, chores: Sequence[Chore]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(_loop(runtime, chore), name=chore.name) for chore in chores]


async def stop(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
