"""All of notifications' SQL."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import any_, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from uuid6 import uuid7

from notifications.domain import DeliveryStatus
from services.models import Event, Region, WebhookDelivery, WebhookEndpoint


class ReferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def existing_regions(self, codes: Sequence[str]) -> set[str]:
        if not codes:
            return set()
        rows = await self.session.scalars(select(Region.code).where(Region.code.in_(codes)))
        return set(rows)


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, endpoint: WebhookEndpoint) -> None:
        self.session.add(endpoint)
        await self.session.flush()
        await self.session.refresh(endpoint)  # created_at comes from the database

    async def get(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def page(
        self, *, after: uuid.UUID | None, limit: int, active: bool | None
    ) -> list[WebhookEndpoint]:
        # Ids are UUIDv7, so id order is creation order and a stable cursor.
        query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
        if after is not None:
            query = query.where(WebhookEndpoint.id > after)
        if active is not None:
            query = query.where(WebhookEndpoint.active.is_(active))
        return list(await self.session.scalars(query))

    async def active_for_type(self, event_type: str) -> list[WebhookEndpoint]:
        """Active endpoints whose event-type filter admits `event_type` (regions: see service)."""
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.active.is_(True),
            (func.cardinality(WebhookEndpoint.event_types) == 0)
            | (literal(event_type) == any_(WebhookEndpoint.event_types)),
        )
        return list(await self.session.scalars(query))


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_pending(
        self, event_id: uuid.UUID, endpoint_ids: Sequence[uuid.UUID], now: datetime
    ) -> list[uuid.UUID]:
        """One pending delivery per endpoint; pairs that already exist are left alone.
        Returns the ids of the rows actually created."""
        if not endpoint_ids:
            return []
        rows = [
            {
                "id": new_id(),
                "endpoint_id": endpoint_id,
                "event_id": event_id,
                "status": DeliveryStatus.pending.value,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for endpoint_id in endpoint_ids
        ]
        result = await self.session.execute(
            pg_insert(WebhookDelivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .returning(WebhookDelivery.id)
        )
        return list(result.scalars())

    async def lock(self, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        """The delivery, row-locked for this transaction; None if missing or locked elsewhere."""
        return await self.session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .options(lazyload(WebhookDelivery.endpoint))  # FOR UPDATE and outer joins do not mix
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )

    async def exists(self, delivery_id: uuid.UUID) -> bool:
        return bool(
            await self.session.scalar(select(exists().where(WebhookDelivery.id == delivery_id)))
        )

    async def event(self, event_id: uuid.UUID) -> Event | None:
        return await self.session.get(Event, event_id)

    async def endpoint(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def due(self, now: datetime, *, limit: int) -> list[tuple[uuid.UUID, int]]:
        """(id, attempts) of pending deliveries whose next attempt is due, oldest first."""
        result = await self.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        return [(row.id, row.attempts) for row in result]

    async def page_for_endpoint(
        self,
        endpoint_id: uuid.UUID,
        *,
        before: uuid.UUID | None,
        limit: int,
        status: str | None,
    ) -> list[tuple[WebhookDelivery, str]]:
        """Newest first (UUIDv7 ids), each with its event's type."""
        query = (
            select(WebhookDelivery, Event.type)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .options(lazyload(WebhookDelivery.endpoint))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(WebhookDelivery.id < before)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        result = await self.session.execute(query)
        return [(row[0], row[1]) for row in result]

    async def cancel_pending(self, endpoint_id: uuid.UUID) -> None:
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == DeliveryStatus.pending,
            )
            .values(status=DeliveryStatus.cancelled.value)
        )


def new_id() -> uuid.UUID:
    """UUIDv7: time-ordered, so id order is creation order."""
    return uuid.UUID(str(uuid7()))
