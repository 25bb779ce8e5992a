"""The task edge: transient faults become arq Retry and leave no trace; bugs fail loudly."""

import uuid
from datetime import UTC, datetime

import pytest
from arq import Retry
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.envelope import EventEnvelope
from services.models import ProcessedEvent
from services.runtime import Runtime
from services.worker import event_task


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
