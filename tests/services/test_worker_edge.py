"""The task edge: transient faults become arq Retry and leave no trace; bugs fail loudly."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from arq import Retry
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.envelope import EventEnvelope
from services.events.failures import FailureStatus
from services.models import Event, EventFailure, ProcessedEvent
from services.runtime import Runtime
from services.worker import event_task
from tests.factories import add_event


def as_payload(event: Event) -> dict[str, Any]:
    return EventEnvelope.of(event).model_dump(mode="json")


def envelope() -> EventEnvelope:
    return EventEnvelope(
        id=uuid.uuid4(),
        type="complaint.submitted",
        occurred_at=datetime.now(UTC),
        complaint_id=None,
        actor_kind="anonymous",
        actor_id=None,
        data={},
        trace_id="t-1",
    )


async def test_transient_fault_retries_with_backoff_and_records_nothing(
    runtime: Runtime, session: AsyncSession
) -> None:
    calls = 0

    async def flaky(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database restarting"))

    task = event_task("probe", flaky)
    event = envelope()

    with pytest.raises(Retry) as retry:
        await task({"runtime": runtime, "job_try": 3}, event.model_dump(mode="json"))
    assert retry.value.defer_score is not None and 0 <= retry.value.defer_score <= 4_000
    assert await session.get(ProcessedEvent, ("probe", event.id)) is None

    assert await task({"runtime": runtime, "job_try": 4}, event.model_dump(mode="json")) == (
        "processed"
    )
    assert calls == 2
    assert await session.get(ProcessedEvent, ("probe", event.id)) is not None


async def test_a_bug_is_not_retried(runtime: Runtime) -> None:
    async def broken(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
        raise IntegrityError("INSERT", {}, ValueError("duplicate key"))

    with pytest.raises(IntegrityError):
        await event_task("probe", broken)({"runtime": runtime}, envelope().model_dump(mode="json"))


async def test_a_bug_is_recorded_as_a_failed_event_for_admins(
    runtime: Runtime, session: AsyncSession
) -> None:
    async def broken(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
        raise ValueError("a field the handler does not understand")

    event = await add_event(session)
    await session.commit()

    with pytest.raises(ValueError):
        await event_task("probe", broken)(
            {"runtime": runtime}, EventEnvelope.of(event).model_dump(mode="json")
        )

    failure = await session.get(EventFailure, ("probe", event.id))
    assert failure is not None and failure.status == FailureStatus.failed
    assert "does not understand" in (failure.last_error or "")
    assert await session.get(ProcessedEvent, ("probe", event.id)) is None


async def test_a_transient_fault_on_the_last_try_is_noted_for_the_reconciler(
    runtime: Runtime, session: AsyncSession
) -> None:
    async def down(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database restarting"))

    event = await add_event(session)
    await session.commit()
    last_try = runtime.settings.job_max_tries

    with pytest.raises(Retry):
        await event_task("probe", down)(
            {"runtime": runtime, "job_try": last_try},
            EventEnvelope.of(event).model_dump(mode="json"),
        )

    failure = await session.get(EventFailure, ("probe", event.id))
    assert failure is not None and failure.status == FailureStatus.retrying
