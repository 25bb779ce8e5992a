"""The statistics' watermark job (a cron of the routing worker): the complaints that had an
event since the last run get their facts recomputed, then the weekly rollup rows of the cells
(week, region) they left or entered are rebuilt from the facts. Each step is one short
transaction; running it twice, or two workers at once, recomputes the same rows.

The watermark trails the clock by `stats_refresh_overlap_seconds`: an event is stamped when it
is recorded but visible only when its transaction commits, so the latest events are read again
at the next run rather than missed. Complaints with no facts at all (data that existed before
the job) are picked up by a one-time backfill."""

import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from routing.stats.facts import Facts, derive
from routing.stats.repository import BulkStatsRepository, StatsRepository
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
    derived = (
        derive(
            c,
            events.get(c.id, []),
            clocks.get(c.id, []),
            assignments.get(c.id, []),
            parents,
            now,
        )
        for c in complaints
    )
    facts = [f for f in derived if f is not None]
    cells = await repository.cells_of(ids)
    agency_cells = await repository.agency_cells_of(ids)
    await repository.save_facts(facts)
    cells |= {(f.week, f.region_code) for f in facts}
    agency_cells |= {(f.week, a) for f in facts for a in f.agency_ids}
    await repository.rebuild(cells)
    await repository.rebuild_agencies(agency_cells)
    return facts


Mark = tuple[datetime | None, uuid.UUID | None]


def is_after(a: Mark, b: Mark) -> bool:
    """Whether watermark `a` lies after `b` (no event id: after every event of the instant)."""
    if b[0] is None:
        return a[0] is not None
    if a[0] is None or a[0] != b[0]:
        return a[0] is not None and a[0] > b[0]
    if a[1] is None or b[1] is None:
        return a[1] is None and b[1] is not None
    return a[1] > b[1]


async def refresh_step(
    session: AsyncSession, now: datetime, overlap: timedelta, batch: int
) -> tuple[int, bool]:
    """One batch: the complaints of the next events after the watermark, and (once) complaints
    without facts. Returns (complaints refreshed, whether more is waiting)."""
    repository = StatsRepository(session)
    mark = await repository.mark(WATERMARK)
    touched = await repository.touched(mark[0], mark[1], batch)
    ids = list(dict.fromkeys(c for _, _, c in touched))
    more = False
    if touched:
        last_at, last_id, _ = touched[-1]
        cutoff = now - overlap
        # Past the cutoff the watermark stops at the cutoff: those events are read again.
        new: Mark = (last_at, last_id) if last_at <= cutoff else (cutoff, None)
        if is_after(new, mark):
            await repository.set_watermark(WATERMARK, new[0] or cutoff, new[1])
            more = len(touched) == batch
    # Complaints from before the job (no facts, their events behind no watermark): read once,
    # until none is left, then never again (every later complaint has its submitted event).
    if len(ids) < batch and await repository.watermark(BACKFILLED) is None:
        wanted = batch - len(ids)
        missing = await repository.complaints_without_facts(wanted)
        ids += [i for i in missing if i not in ids]
        if len(missing) < wanted:
            await repository.set_watermark(BACKFILLED, now)
        else:
            more = True
    await refresh_complaints(session, ids, now)
    return len(ids), more


async def after_bulk_facts(
    session: AsyncSession,
    horizon: datetime,
    now: datetime,
    overlap: timedelta,
    *,
    others_before: bool = True,
) -> None:
    """For a writer that added complaints with a past *and their facts* (seed-demo): their
    events all lie before `horizon`, so the watermark moves up to it (never past `now -
    overlap`) instead of the job reading that history again, batch by batch. What else lies
    behind the new mark is refreshed here or left to the backfill (never commits):

    - no mark yet: no refresh has read an event, so only the writer's complaints have facts;
      every other complaint from before `horizon` (`others_before`: the writer saw some) is one
      without facts, found by the backfill (looked for again);
    - a mark before `horizon`: the complaints with an event between the two whose facts miss
      it (none, or none yet) are refreshed now."""
    repository = BulkStatsRepository(session)
    mark = await repository.mark(WATERMARK)
    until = min(horizon, now - overlap)
    if not is_after((until, None), mark):
        return
    if mark[0] is None:
        if others_before:
            await look_again_for_complaints_without_facts(session)
    else:
        stale = await repository.complaints_behind(mark[0], mark[1], until)
        for start in range(0, len(stale), 500):
            await refresh_complaints(session, stale[start : start + 500], now)
    await repository.set_watermark(WATERMARK, until)


async def look_again_for_complaints_without_facts(session: AsyncSession) -> None:
    """For writers that add complaints with a past (seed-demo --add): their events lie behind
    the watermark, so the next refresh finds them as complaints without facts (never commits)."""
    await StatsRepository(session).forget_watermark(BACKFILLED)


async def refresh(
    runtime: Runtime, max_steps: int = 1000, budget_seconds: float | None = None
) -> int:
    """Refresh until caught up, or `max_steps` batches, or (past the first batch) the budget
    spent; returns the complaints refreshed. Each batch commits: the rest waits for the next
    run."""
    settings = runtime.settings
    overlap = timedelta(seconds=settings.stats_refresh_overlap_seconds)
    total = 0
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    for step in range(max_steps):
        if step and deadline is not None and time.monotonic() >= deadline:
            break
        now = await platform_now(settings, runtime.redis)
        async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
            done, more = await refresh_step(session, now, overlap, settings.stats_refresh_batch)
        total += done
        if not more:
            break
    return total
