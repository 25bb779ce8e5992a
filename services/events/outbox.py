"""Recording events (same transaction as the change) and publishing them (after commit).

Three paths get an event to its consumers' arq queues:
- the fast path, right after the commit: one Redis round trip for all of a commit's events;
  the `published_at` marks are written later, batched, off the request;
- the relay (cron in every worker): events still unpublished after a grace period;
- the reconciler (services.events.reconciler): events published but not in every consumer's
  inbox after a longer bound, republished under fresh job ids.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
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
from services.events.failures import FailureRepository
from services.logging import get_logger
from services.models import Event
from services.principal import Principal
from services.queue import JobSpec, enqueue_many, queue_name
from services.settings import Settings

log = get_logger(__name__)
HANDLE_EVENT = "handle_event"
PENDING_KEY = "aduan.outbox"
MARK_DELAY_SECONDS = 0.05  # published marks of concurrent requests share one UPDATE


def record_event(
    session: AsyncSession,
    type_: EventType,
    *,
    actor: Principal,
    complaint_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
    private: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the session; it commits (or not) with the change it describes.
    `private`: content kept on the row for entitled readers only, never published."""
    event = Event(
        id=uuid.UUID(str(uuid7())),
        type=type_.value,
        occurred_at=datetime.now(UTC),
        complaint_id=complaint_id,
        actor_kind=actor.actor,
        actor_role=actor.role.value,
        actor_id=actor.subject,
        data=data or {},
        private_data=private or None,
        trace_id=current_trace_id(),
    )
    session.add(event)
    session.info.setdefault(PENDING_KEY, []).append(event)
    return event


def pending_events(session: AsyncSession) -> list[Event]:
    """The events recorded in this session so far (left in place for the publisher)."""
    return list(session.info.get(PENDING_KEY, []))


def take_pending(session: AsyncSession) -> list[Event]:
    pending: list[Event] = session.info.pop(PENDING_KEY, [])
    return pending


def event_job_id(
    settings: Settings, consumer: str, event_id: uuid.UUID, republish: str | None = None
) -> str:
    """The fast path and the relay share one id per (consumer, event), so arq keeps one job;
    republishes (reconciler, admin retry) carry a tag of their own, so a kept result or a job
    stuck in Redis cannot block them."""
    base = f"{settings.queue_prefix}:{consumer}:{event_id}"
    return base if republish is None else f"{base}:{republish}"


def event_jobs(
    settings: Settings,
    envelope: EventEnvelope,
    consumers: Sequence[str],
    republish: str | None = None,
) -> list[JobSpec]:
    payload = envelope.model_dump(mode="json")
    return [
        JobSpec(
            HANDLE_EVENT,
            (payload,),
            event_job_id(settings, consumer, envelope.id, republish),
            queue_name(settings, consumer),
        )
        for consumer in consumers
    ]


def batch_jobs(settings: Settings, envelopes: Sequence[EventEnvelope]) -> list[JobSpec]:
    """One job per consumer carrying every envelope it should get, in order. A batch of one
    keeps the event's own job id (what the relay would use); a larger one is named after its
    first event and size. Either way a repeat is harmless: the consumers' inboxes absorb it."""
    per_consumer: dict[str, list[EventEnvelope]] = {}
    for envelope in envelopes:
        for receiver in consumers_of(envelope.type):
            per_consumer.setdefault(receiver, []).append(envelope)
    jobs = []
    for consumer, batch in per_consumer.items():
        if len(batch) == 1:
            jobs += event_jobs(settings, batch[0], [consumer])
            continue
        jobs.append(
            JobSpec(
                HANDLE_EVENT,
                ([e.model_dump(mode="json") for e in batch],),
                f"{event_job_id(settings, consumer, batch[0].id)}+{len(batch)}",
                queue_name(settings, consumer),
            )
        )
    return jobs


class Publisher:
    """Pushes committed events onto the consumers' arq queues and marks them published.

    Commits that finish within `publish_batch_window_seconds` of each other (concurrent requests,
    a worker's concurrent jobs) share one push: one job per consumer carries all their events,
    so the consumer pays for one job and one transaction instead of one per event."""

    def __init__(
        self,
        settings: Settings,
        redis: ArqRedis,
        sessionmaker: SessionMaker,
        *,
        mark_in_background: bool = True,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.sessionmaker = sessionmaker
        # Off where sessions share one connection (tests' savepoints): a background mark
        # would interleave with the caller's statements; marks then wait for flush()/close().
        self.mark_in_background = mark_in_background
        self._unmarked: list[uuid.UUID] = []
        self._marker: asyncio.Task[None] | None = None
        self._batch: list[Event] = []
        self._pushed: asyncio.Future[None] | None = None
        self._pusher: asyncio.Task[None] | None = None

    async def publish(self, events: list[Event]) -> None:
        """Fast path, after commit: returns once the events are in Redis (or the push failed,
        which is only a delay: the relay retries)."""
        if not events:
            return
        for event in events:
            # One line per committed event (intake's "complaint filed" is complaint.submitted),
            # in the trace of the request or job that caused it; ids only, no data.
            log.info(
                "recorded %s",
                event.type,
                extra={"event_id": str(event.id), "trace_id": event.trace_id},
            )
        self._batch += events
        if self._pushed is None:
            self._pushed = asyncio.get_running_loop().create_future()
            self._pusher = asyncio.create_task(self._push_soon(self._pushed))
        pushed = self._pushed
        if len(self._batch) >= self.settings.publish_batch_max:
            self._pushed = None  # later commits start the next batch
            if self._pusher is not None:
                self._pusher.cancel()
            await self._push(self._take_batch(), pushed)
        await asyncio.shield(pushed)

    def _take_batch(self) -> list[Event]:
        batch, self._batch = self._batch, []
        return batch

    async def _push_soon(self, pushed: asyncio.Future[None]) -> None:
        await asyncio.sleep(self.settings.publish_batch_window_seconds)
        if self._pushed is pushed:
            self._pushed = None
            await self._push(self._take_batch(), pushed)

    async def _push(self, events: list[Event], pushed: asyncio.Future[None]) -> None:
        try:
            envelopes = [EventEnvelope.of(e) for e in events]
            size = max(1, self.settings.publish_batch_max)
            jobs = [
                job
                for start in range(0, len(envelopes), size)
                for job in batch_jobs(self.settings, envelopes[start : start + size])
            ]
            await enqueue_many(self.redis, jobs)
        except Exception as exc:
            log.warning("fast-path publish failed, the relay will retry: %r", exc)
        else:
            self._unmarked += [e.id for e in events]
            if self.mark_in_background and (self._marker is None or self._marker.done()):
                self._marker = asyncio.create_task(self._mark_soon())
        finally:
            if not pushed.done():
                pushed.set_result(None)

    async def _mark_soon(self) -> None:
        await asyncio.sleep(MARK_DELAY_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Write the pending published marks in one statement. A lost mark only means the
        relay pushes the event again, which the job id and the consumers' inboxes absorb."""
        ids, self._unmarked = self._unmarked, []
        if not ids:
            return
        try:
            async with self.sessionmaker() as session:
                await _mark_published(session, ids)
                await session.commit()
        except Exception as exc:
            log.warning("could not mark %d events published, the relay will: %r", len(ids), exc)

    async def close(self) -> None:
        if self._pushed is not None:
            pushed, self._pushed = self._pushed, None
            if self._pusher is not None:
                self._pusher.cancel()
            await self._push(self._take_batch(), pushed)
        if self._marker is not None and not self._marker.done():
            with contextlib.suppress(asyncio.CancelledError):
                self._marker.cancel()
                await self._marker
        await self.flush()

    async def relay(self, *, chunk: int = 200, max_chunks: int = 25) -> int:
        """Slow path: publish what the fast path left behind. Safe on every replica: each
        chunk is read in one short transaction, pushed with no transaction open, and marked in
        another; two replicas pushing the same event make one job (same job id)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.relay_grace_seconds)
        published = 0
        for _ in range(max_chunks):
            async with self.sessionmaker() as session:
                rows = list(
                    await session.scalars(
                        select(Event)
                        .where(Event.published_at.is_(None), Event.occurred_at < cutoff)
                        .order_by(Event.occurred_at)
                        .limit(chunk)
                    )
                )
            if not rows:
                break
            jobs: list[JobSpec] = []
            unknown: list[Event] = []
            for event in rows:
                try:
                    consumers = consumers_of(event.type)
                except ValueError:
                    unknown.append(event)  # recorded below; it must not block the rest
                    continue
                jobs += event_jobs(self.settings, EventEnvelope.of(event), consumers)
            await enqueue_many(self.redis, jobs)
            async with self.sessionmaker() as session:
                await _mark_published(session, [e.id for e in rows])
                if unknown:
                    await FailureRepository(session).fail_unknown_types(unknown)
                await session.commit()
            published += len(rows) - len(unknown)
            if len(rows) < chunk:
                break
        if published:
            log.info("relay published %d events", published)
        return published


async def _mark_published(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    await session.execute(
        update(Event)
        .where(Event.id.in_(ids), Event.published_at.is_(None))
        .values(published_at=datetime.now(UTC))
    )
