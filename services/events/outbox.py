"""Recording events (same transaction as the change) and publishing them (after commit)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.context import current_trace_id
from services.db import SessionMaker
from services.events.catalogue import EventType, consumers_of
from services.events.envelope import EventEnvelope
from services.identity import Principal
from services.logging import get_logger
from services.models import Event
from services.queue import queue_name
from services.settings import Settings

log = get_logger(__name__)
HANDLE_EVENT = "handle_event"
PENDING_KEY = "aduan.outbox"


def record_event(
    session: AsyncSession,
    type_: EventType,
    *,
    actor: Principal,
    complaint_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the session; it commits (or not) with the change it describes."""
    event = Event(
        id=uuid.UUID(str(uuid7())),
        type=type_.value,
        occurred_at=datetime.now(UTC),
        complaint_id=complaint_id,
        actor_kind=actor.kind.value,
        actor_id=actor.subject,
        data=data or {},
        trace_id=current_trace_id(),
    )
    session.add(event)
    session.info.setdefault(PENDING_KEY, []).append(event)
    return event


def take_pending(session: AsyncSession) -> list[Event]:
    pending: list[Event] = session.info.pop(PENDING_KEY, [])
    return pending


class Publisher:
    """Pushes committed events onto the consumers' arq queues and marks them published."""

    def __init__(self, settings: Settings, redis: ArqRedis, sessionmaker: SessionMaker) -> None:
        self.settings = settings
        self.redis = redis
        self.sessionmaker = sessionmaker

    async def _enqueue(self, event: EventEnvelope) -> None:
        for consumer in consumers_of(event.type):
            # The job id makes a second push of the same event (fast path + relay) a no-op.
            await self.redis.enqueue_job(
                HANDLE_EVENT,
                event.model_dump(mode="json"),
                _job_id=f"{self.settings.queue_prefix}:{consumer}:{event.id}",
                _queue_name=queue_name(self.settings, consumer),
            )

    async def publish(self, events: list[Event]) -> None:
        """Fast path, after commit. A failure here is only a delay: the relay retries."""
        if not events:
            return
        try:
            for event in events:
                await self._enqueue(EventEnvelope.of(event))
            async with self.sessionmaker() as session:
                await session.execute(
                    update(Event)
                    .where(Event.id.in_([e.id for e in events]))
                    .values(published_at=datetime.now(UTC))
                )
                await session.commit()
        except Exception as exc:
            log.warning("fast-path publish failed, the relay will retry: %r", exc)

    async def relay(self, *, batch: int = 500) -> int:
        """Slow path: publish what the fast path left behind. Safe to run on every replica."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.relay_grace_seconds)
        published = 0
        async with self.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(Event)
                    .where(Event.published_at.is_(None), Event.occurred_at < cutoff)
                    .order_by(Event.occurred_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for event in rows:
                await self._enqueue(EventEnvelope.of(event))
                event.published_at = datetime.now(UTC)
                published += 1
            await session.commit()
        if published:
            log.info("relay published %d events", published)
        return published
