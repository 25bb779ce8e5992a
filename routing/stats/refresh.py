"""The statistics' watermark job (a cron of the routing worker): the complaints that had an
event since the last run get their facts recomputed, then the weekly rollup rows of the cells
(week, region) they left or entered are rebuilt from the facts. Each step is one short
transaction; running it twice, or two workers at once, recomputes the same rows.

The watermark trails the clock by `stats_refresh_overlap_seconds`: an event is stamped when it
is recorded but visible only when its transaction commits, so the latest events are read again
at the next run rather than missed. Complaints with no facts at all (data that existed before
the job) are picked up by a one-time backfill."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from routing.stats.facts import Facts, derive
from routing.stats.repository import StatsRepository
from services.clock import now as platform_now
from services.logging import get_logger
from services.runtime import Runtime
from services.uow import unit_of_work

log = get_logger(__name__)
WATERMARK = "facts"
BACKFILLED = "backfilled"


async def refresh_complaints(
    session: AsyncSession, ids: Sequence[uuid.UUID], now: datetime
) -> list[Facts]:
    """Recompute these complaints' facts and their cells' rollup rows (never commits)."""
    if not ids:
        return []
    repository = StatsRepository(session)
    complaints, events, clocks, assignments = await repository.inputs(ids)
    parents = await repository.agency_parents()
    facts = [
        derive(
            c,
            events.get(c.id, []),
            clocks.get(c.id, []),
            assignments.get(c.id, []),
            parents,
            now,
        )
        for c in complaints
    ]
    cells = await repository.cells_of(ids)
    agency_cells = await repository.agency_cells_of(ids)
    await repository.save_facts(facts)
    cells |= {(f.week, f.region_code) for f in facts}
    agency_cells |= {(f.week, a) for f in facts for a in f.agency_ids}
    await repository.rebuild(cells)
    await repository.rebuild_agencies(agency_cells)
    return facts


async def refresh_step(session: AsyncSession, now: datetime, overlap: timedelta, batch: int) -> int:
    """One batch: the complaints of the next events after the watermark, and complaints
    without facts. Returns how far it got (0: caught up)."""
    repository = StatsRepository(session)
    mark = await repository.watermark(WATERMARK)
    touched = await repository.touched(mark, batch)
    ids = list(dict.fromkeys(c for _, c in touched))
    progressed = 0
    if touched:
        newest = touched[-1][0]
        advanced = min(newest, now - overlap)
        if len(touched) == batch and (mark is None or advanced <= mark):
            advanced = newest  # a full batch inside the overlap: move on past it
        if mark is None or advanced > mark:
            await repository.set_watermark(WATERMARK, advanced)
            progressed += len(ids)
    # Complaints from before the job (no facts, their events behind no watermark): read once,
    # until none is left, then never again (every later complaint has its submitted event).
    if len(ids) < batch and await repository.watermark(BACKFILLED) is None:
        wanted = batch - len(ids)
        missing = await repository.complaints_without_facts(wanted)
        ids += [i for i in missing if i not in ids]
        progressed += len(missing)
        if len(missing) < wanted:
            await repository.set_watermark(BACKFILLED, now)
    await refresh_complaints(session, ids, now)
    return progressed


async def refresh(runtime: Runtime, max_steps: int = 1000) -> int:
    """Refresh until caught up (or `max_steps` batches); returns the progress made."""
    settings = runtime.settings
    overlap = timedelta(seconds=settings.stats_refresh_overlap_seconds)
    total = 0
    for _ in range(max_steps):
        now = await platform_now(settings, runtime.redis)
        async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
            done = await refresh_step(session, now, overlap, settings.stats_refresh_batch)
        total += done
        if done == 0:
            break
    return total
