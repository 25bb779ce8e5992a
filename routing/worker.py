"""Routing's arq worker: consumes complaint events from the `routing` queue."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from routing.inbox.reporter import on_reporter_event
from routing.service import RoutingService
from routing.sla.clocks import ClockService
from routing.sla.follow import follow_clocks
from routing.sla.sweep import sweep
from routing.stats.refresh import refresh as refresh_stats
from services.clock import read_offset
from services.events.catalogue import Consumer, EventType
from services.events.envelope import EventEnvelope
from services.logging import get_logger
from services.runtime import Runtime
from services.settings import get_settings
from services.worker import TRANSIENT, Ctx, build_worker_settings, event_task, periodic, runtime_of

log = get_logger(__name__)


async def route_event(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    # What routing records while handling it moves the clocks before the batch commits.
    follow_clocks(session, runtime.settings, runtime.redis)
    if event.type == EventType.complaint_submitted and event.complaint_id is not None:
        await RoutingService(session, runtime.settings).on_submitted(event.complaint_id)
    # convo: the reporter's answers hand the complaint back to (or take it from) its handlers.
    await on_reporter_event(session, event)
    # The clocks follow the event itself (recorded by another service), after its handling.
    offset = await read_offset(runtime.settings, runtime.redis)
    await ClockService(session, runtime.settings, offset).on_event(event)


async def sweep_clocks(ctx: Ctx) -> int:
    """The SLA sweep cron (routing/sla/sweep.py)."""
    runtime = runtime_of(ctx)
    try:
        return await sweep(runtime)
    except TRANSIENT as exc:
        log.warning("sla sweep: %r", exc)
        return 0


async def prefetch_complaints(
    session: AsyncSession, events: Sequence[EventEnvelope], runtime: Runtime
) -> None:
    """A batch's complaints in one query, before its events are routed one by one."""
    ids = [e.complaint_id for e in events if e.type == EventType.complaint_submitted]
    await RoutingService(session).prefetch([i for i in ids if i is not None])


async def refresh_statistics(ctx: Ctx) -> int:
    """The statistics' watermark job (routing/stats/refresh.py)."""
    runtime = runtime_of(ctx)
    try:
        # A bounded share of the worker: complaints' events come first, the statistics catch
        # up over the next runs (a run that outlived the job timeout lost its last batch and
        # held the worker's CPU from the events).
        return await refresh_stats(
            runtime, max_steps=50, budget_seconds=runtime.settings.stats_refresh_max_seconds
        )
    except TRANSIENT as exc:
        log.warning("stats refresh: %r", exc)
        return 0


def worker_settings() -> type:
    """Built on demand: it reads the settings (Redis URL) of the process that runs it."""
    task = event_task(Consumer.routing, route_event, prefetch=prefetch_complaints)
    settings = get_settings()
    sla = periodic(sweep_clocks, settings, settings.sla_sweep_interval_seconds)
    stats = periodic(refresh_statistics, settings, settings.stats_refresh_interval_seconds)
    return build_worker_settings(Consumer.routing, [task], [sla, stats])
