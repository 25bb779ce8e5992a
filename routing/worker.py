"""Routing's arq worker: consumes complaint events from the `routing` queue."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from routing.service import RoutingService
from services.events.catalogue import Consumer, EventType
from services.events.envelope import EventEnvelope
from services.runtime import Runtime
from services.worker import build_worker_settings, event_task


async def route_event(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    if event.type == EventType.complaint_submitted and event.complaint_id is not None:
        await RoutingService(session).on_submitted(event.complaint_id)


async def prefetch_complaints(
    session: AsyncSession, events: Sequence[EventEnvelope], runtime: Runtime
) -> None:
    """A batch's complaints in one query, before its events are routed one by one."""
    ids = [e.complaint_id for e in events if e.type == EventType.complaint_submitted]
    await RoutingService(session).prefetch([i for i in ids if i is not None])


def worker_settings() -> type:
    """Built on demand: it reads the settings (Redis URL) of the process that runs it."""
    task = event_task(Consumer.routing, route_event, prefetch=prefetch_complaints)
    return build_worker_settings(Consumer.routing, [task])
