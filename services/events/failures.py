"""The SQL of event settlement and failures (kernel-owned tables: events, processed_events,
event_failures). Never commits: the reconciler, the relay and the request edge do."""

import enum
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import Event, EventFailure, ProcessedEvent

RELAY = "relay"  # the pseudo-consumer of events the relay could not publish


class FailureStatus(enum.StrEnum):
    retrying = "retrying"  # the reconciler republishes it
    failed = "failed"  # given up: an admin sees it and may retry
    resolved = "resolved"  # the consumer's inbox has it now


class FailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unsettled(
        self, *, before: datetime, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Event]:
        """Published, unsettled events older than `before`, oldest first, locked (skipping
        rows another replica holds) until this short transaction ends."""
        query = (
            select(Event)
            .where(
                Event.settled_at.is_(None),
                Event.published_at.is_not(None),
                Event.occurred_at < before,
            )
            .order_by(Event.occurred_at, Event.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if after is not None:
            query = query.where(tuple_(Event.occurred_at, Event.id) > tuple_(*after))
        return list(await self.session.scalars(query))

    async def processed(
        self, consumers: Iterable[str], event_ids: Sequence[uuid.UUID]
    ) -> set[tuple[str, uuid.UUID]]:
        rows = await self.session.execute(
            select(ProcessedEvent.consumer, ProcessedEvent.event_id).where(
                ProcessedEvent.consumer.in_(list(consumers)),
                ProcessedEvent.event_id.in_(event_ids),
            )
        )
        return {(row.consumer, row.event_id) for row in rows}

    async def for_events(
        self, event_ids: Sequence[uuid.UUID]
    ) -> dict[tuple[str, uuid.UUID], EventFailure]:
        rows = await self.session.scalars(
            select(EventFailure).where(EventFailure.event_id.in_(event_ids))
        )
        return {(f.consumer, f.event_id): f for f in rows}

    def add(self, failure: EventFailure) -> None:
        self.session.add(failure)

    async def settle(self, event_ids: Sequence[uuid.UUID], now: datetime) -> None:
        if event_ids:
            await self.session.execute(
                update(Event).where(Event.id.in_(event_ids)).values(settled_at=now)
            )

    async def unsettle(self, event_id: uuid.UUID, *, unpublish: bool) -> None:
        values: dict[str, None] = {"settled_at": None}
        if unpublish:
            values["published_at"] = None
        await self.session.execute(update(Event).where(Event.id == event_id).values(**values))

    async def record(
        self, consumer: str, event_id: uuid.UUID, status: FailureStatus, error: str
    ) -> None:
        """Insert or update one (consumer, event) failure with its latest error."""
        now = datetime.now(UTC)
        await self.session.execute(
            pg_insert(EventFailure)
            .values(
                consumer=consumer,
                event_id=event_id,
                status=status.value,
                republished=0,
                admin_retries=0,
                last_error=error[:2000],
                first_failed_at=now,
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=[EventFailure.consumer, EventFailure.event_id],
                set_={"status": status.value, "last_error": error[:2000], "updated_at": now},
            )
        )

    async def fail_unknown_types(self, events: Sequence[Event]) -> None:
        now = datetime.now(UTC)
        for event in events:
            await self.record(
                RELAY, event.id, FailureStatus.failed, f"unknown event type {event.type!r}"
            )
        await self.settle([e.id for e in events], now)

    async def get(self, consumer: str, event_id: uuid.UUID) -> EventFailure | None:
        return await self.session.get(
            EventFailure, (consumer, event_id), with_for_update=True, populate_existing=True
        )

    async def event(self, event_id: uuid.UUID) -> Event | None:
        return await self.session.get(Event, event_id)

    async def page(
        self,
        *,
        status: FailureStatus | None,
        after: tuple[datetime, str, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[EventFailure, Event]]:
        """Open failures (or those of `status`), oldest first, each with its event."""
        query = (
            select(EventFailure, Event)
            .join(Event, Event.id == EventFailure.event_id)
            .order_by(EventFailure.first_failed_at, EventFailure.consumer, EventFailure.event_id)
            .limit(limit)
        )
        if status is None:
            query = query.where(EventFailure.status != FailureStatus.resolved.value)
        else:
            query = query.where(EventFailure.status == status.value)
        if after is not None:
            query = query.where(
                tuple_(EventFailure.first_failed_at, EventFailure.consumer, EventFailure.event_id)
                > tuple_(*after)
            )
        rows = await self.session.execute(query)
        return [(row[0], row[1]) for row in rows]
