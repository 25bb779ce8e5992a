"""Building blocks of the notifications tests: endpoints, complaints, events, deliveries."""

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, text, update

from notifications.config import DispatchConfig
from notifications.domain import Claim
from notifications.repository import new_id
from notifications.service import DispatchService
from notifications.signing import new_secret
from notifications.worker import handle_event
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.events.outbox import record_event, take_pending
from services.models import Complaint, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.principal import Principal, PrincipalKind, Role
from services.runtime import Runtime

ROUTING = Principal(kind=PrincipalKind.system, role=Role.system, subject="routing")


async def add_endpoint(
    runtime: Runtime,
    url: str = "https://lapor.example.go.id/hooks",
    *,
    region_codes: list[str] | None = None,
    event_types: list[str] | None = None,
    active: bool = True,
    owner_kind: str = "admin",
    owner_ref: str | None = None,
    agency_ids: list[uuid.UUID] | None = None,
) -> WebhookEndpoint:
    async with runtime.sessionmaker() as session:
        endpoint = WebhookEndpoint(
            id=new_id(),
            url=url,
            region_codes=region_codes or [],
            agency_ids=agency_ids or [],
            event_types=event_types or [],
            secret=new_secret(),
            active=active,
            owner_kind=owner_kind,
            owner_ref=owner_ref,
        )
        session.add(endpoint)
        await session.commit()
        return endpoint


async def add_complaint(runtime: Runtime, region_code: str = "11.01.01") -> uuid.UUID:
    """A complaint row, for events that belong to one (their order is kept per complaint)."""
    async with runtime.sessionmaker() as session:
        complaint = Complaint(
            id=new_id(),
            tracking_id="ADN-" + secrets.token_hex(4).upper(),
            report_type="pengaduan",
            title="Jalan berlubang di depan Pasar Bakongan",
            description="Lubang besar, sudah dua bulan.",
            category_code="infrastruktur",
            region_code=region_code,
            submitted_by="c-1",
            status="submitted",
        )
        session.add(complaint)
        await session.commit()
        return complaint.id


async def add_event(
    runtime: Runtime,
    type_: EventType = EventType.complaint_dispositioned,
    region_code: str | None = "11.01.01",
    complaint_id: uuid.UUID | None = None,
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
        event = record_event(session, type_, actor=ROUTING, complaint_id=complaint_id, data=payload)
        await session.commit()
        take_pending(session)
        return EventEnvelope.of(event)


async def fan_out(runtime: Runtime, event: EventEnvelope) -> str:
    """The notifications job for one event, as the worker runs it."""
    return await handle_event({"runtime": runtime}, event.model_dump(mode="json"))


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


async def endpoint_row(runtime: Runtime, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    async with runtime.sessionmaker() as session:
        found = await session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
        assert found is not None
        return found


async def attempts_made(runtime: Runtime, endpoint_id: uuid.UUID) -> int:
    async with runtime.sessionmaker() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(WebhookDelivery.attempts), 0)).where(
                WebhookDelivery.endpoint_id == endpoint_id
            )
        )
        return int(total or 0)


async def make_due(runtime: Runtime, delivery_id: uuid.UUID | None = None) -> None:
    """Skip the backoff wait (of one delivery, or of all), as if its time had come."""
    query = update(WebhookDelivery).values(next_attempt_at=func.now())
    if delivery_id is not None:
        query = query.where(WebhookDelivery.id == delivery_id)
    async with runtime.sessionmaker() as session:
        await session.execute(query)
        await session.commit()


async def end_cool_down(runtime: Runtime, endpoint_id: uuid.UUID) -> None:
    """As if the endpoint's circuit cool-down were over."""
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(circuit_open_until=func.now())
        )
        await session.commit()


async def expire_leases(runtime: Runtime) -> None:
    """As if every lease's time had passed."""
    async with runtime.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE webhook_deliveries SET lease_until = now() - interval '1 second' "
                "WHERE lease_until IS NOT NULL"
            )
        )
        await session.commit()


async def claim(runtime: Runtime, config: DispatchConfig, limit: int = 100) -> list[Claim]:
    """One claim, as a dispatcher makes it, committed."""
    async with runtime.sessionmaker() as session, session.begin():
        return await DispatchService(session, config).claim(limit)


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    """Wait for a condition on the database (or a receiver) to hold; fail if it never does."""
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 - the database has no event to wait on
            await asyncio.sleep(0.02)


async def statuses(runtime: Runtime, **where: Any) -> list[str]:
    return [d.status for d in await deliveries(runtime, **where)]


async def attempts_of(runtime: Runtime, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    """The recorded attempts of a delivery, oldest first."""
    async with runtime.sessionmaker() as session:
        query = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempted_at)
        )
        return list(await session.scalars(query))


async def events_of_type(runtime: Runtime, type_: EventType) -> list[Event]:
    async with runtime.sessionmaker() as session:
        query = select(Event).where(Event.type == type_.value).order_by(Event.id)
        return list(await session.scalars(query))
