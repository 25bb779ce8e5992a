"""Building blocks of the notifications tests: endpoints, events, deliveries, jobs."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from notifications.repository import new_id
from notifications.signing import new_secret
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.events.outbox import record_event, take_pending
from services.identity import Principal, PrincipalKind
from services.models import WebhookDelivery, WebhookEndpoint
from services.runtime import Runtime

ROUTING = Principal(kind=PrincipalKind.system, subject="routing")


async def add_endpoint(
    runtime: Runtime,
    url: str = "https://lapor.example.go.id/hooks",
    *,
    region_codes: list[str] | None = None,
    event_types: list[str] | None = None,
    active: bool = True,
) -> WebhookEndpoint:
    async with runtime.sessionmaker() as session:
        endpoint = WebhookEndpoint(
            id=new_id(),
            url=url,
            region_codes=region_codes or [],
            event_types=event_types or [],
            secret=new_secret(),
            active=active,
        )
        session.add(endpoint)
        await session.commit()
        return endpoint


async def add_event(
    runtime: Runtime,
    type_: EventType = EventType.complaint_dispositioned,
    region_code: str | None = "11.01.01",
    **data: Any,
) -> EventEnvelope:
    """An event row as routing would record it (not published: tests hand it to the task)."""
    payload: dict[str, Any] = {
        "tracking_id": "ADN-7K3QX9P2",
        "status": "dispositioned",
        "status_label": "Terdisposisi",
        "title": "Jalan berlubang di depan Pasar Bakongan",
        "agencies": [{"code": "pemda-11.01", "name": "Pemerintah Kabupaten Aceh Selatan"}],
    }
    if region_code is not None:
        payload["region_code"] = region_code
    payload |= data
    async with runtime.sessionmaker() as session:
        event = record_event(session, type_, actor=ROUTING, data=payload)
        await session.commit()
        take_pending(session)
        return EventEnvelope.of(event)


async def deliveries(runtime: Runtime, **where: Any) -> list[WebhookDelivery]:
    async with runtime.sessionmaker() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id)
        for column, value in where.items():
            query = query.where(getattr(WebhookDelivery, column) == value)
        return list((await session.scalars(query.execution_options(populate_existing=True))).all())


async def delivery(runtime: Runtime, delivery_id: uuid.UUID) -> WebhookDelivery:
    async with runtime.sessionmaker() as session:
        found = await session.get(WebhookDelivery, delivery_id, populate_existing=True)
        assert found is not None
        return found


async def make_due(runtime: Runtime, delivery_id: uuid.UUID) -> None:
    """Skip the backoff wait, as if its time had come."""
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=datetime.now(UTC))
        )
        await session.commit()


async def queued_job_ids(runtime: Runtime) -> dict[str, float]:
    """Job id -> due time (unix seconds) of the jobs waiting on the notifications queue."""
    queue = f"{runtime.settings.queue_prefix}:notifications"
    entries = await runtime.redis.zrange(queue, 0, -1, withscores=True)
    return {key.decode(): score / 1000 for key, score in entries}
