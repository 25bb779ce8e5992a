"""Failed events for admins: list them, publish one again. Never commits: the request edge
does, and the retry's job is pushed after that commit."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.envelope import EventEnvelope
from services.events.failures import RELAY, FailureRepository, FailureStatus
from services.events.outbox import event_jobs
from services.models import Event, EventFailure
from services.pagination import Page, decode_cursor, encode_cursor
from services.problems import ProblemError
from services.queue import enqueue_many
from services.runtime import Runtime
from services.uow import after_commit


class FailedEventOut(BaseModel):
    consumer: str = Field(
        description="The queue that did not process the event (`relay`: it could not be "
        "published at all)",
        examples=["routing"],
    )
    event_id: uuid.UUID
    event_type: str = Field(examples=["complaint.submitted"])
    complaint_id: uuid.UUID | None
    status: FailureStatus = Field(
        description="`retrying`: the reconciler still republishes it; `failed`: given up, "
        "waiting for an admin; `resolved`: processed since"
    )
    republished: int = Field(description="Republishes by the reconciler since the last retry")
    admin_retries: int
    last_error: str | None = Field(examples=["OperationalError('could not connect')"])
    first_failed_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


def _cursor(cursor: str | None) -> tuple[datetime, str, uuid.UUID] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        moment, consumer, event_id = key.split("|")
        return datetime.fromisoformat(moment), consumer, uuid.UUID(event_id)
    except ValueError as exc:
        raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc


class FailedEventService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.failures = FailureRepository(session)

    async def page(
        self, *, status: FailureStatus | None, cursor: str | None, limit: int
    ) -> Page[FailedEventOut]:
        rows = await self.failures.page(status=status, after=_cursor(cursor), limit=limit + 1)
        items = [_out(failure, event) for failure, event in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1][0]
            next_cursor = encode_cursor(
                f"{last.first_failed_at.isoformat()}|{last.consumer}|{last.event_id}"
            )
        return Page[FailedEventOut](items=items, next_cursor=next_cursor)

    async def retry(self, consumer: str, event_id: uuid.UUID) -> FailedEventOut:
        """Publish the event to that consumer again now, and let the reconciler watch it anew."""
        failure = await self.failures.get(consumer, event_id)
        event = await self.failures.event(event_id)
        if failure is None or event is None:
            raise ProblemError("not_found", f"no failed event {event_id} for {consumer}")
        if failure.status == FailureStatus.resolved:
            raise ProblemError("conflict", "this event was processed since; nothing to retry")
        failure.status = FailureStatus.retrying.value
        failure.republished = 0
        failure.admin_retries += 1
        await self.failures.unsettle(event_id, unpublish=consumer == RELAY)
        if consumer != RELAY:  # the relay's failures are published again by the relay
            jobs = event_jobs(
                self.runtime.settings,
                EventEnvelope.of(event),
                [consumer],
                f"a{failure.admin_retries}",
            )
            after_commit(self.session, lambda: enqueue_many(self.runtime.redis, jobs))
        await self.session.flush()
        return _out(failure, event)


def _out(failure: EventFailure, event: Event) -> FailedEventOut:
    return FailedEventOut(
        consumer=failure.consumer,
        event_id=failure.event_id,
        event_type=event.type,
        complaint_id=event.complaint_id,
        status=FailureStatus(failure.status),
        republished=failure.republished,
        admin_retries=failure.admin_retries,
        last_error=failure.last_error,
        first_failed_at=failure.first_failed_at,
        updated_at=failure.updated_at,
        resolved_at=failure.resolved_at,
    )
