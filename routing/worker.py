"""Routing's arq worker: consumes complaint events from the `routing` queue."""

from sqlalchemy.ext.asyncio import AsyncSession

from routing.service import RoutingService
from services.events.catalogue import Consumer, EventType
from services.events.envelope import EventEnvelope
from services.runtime import Runtime
from services.worker import event_task, worker_settings


async def route_event(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    if event.type == EventType.complaint_submitted and event.complaint_id is not None:
        await RoutingService(session).on_submitted(event.complaint_id)


WorkerSettings = worker_settings(Consumer.routing, [event_task(Consumer.routing, route_event)])
