"""Commits close together share one job per consumer; a consumer handles a batch in one
transaction, and one bad event in it does not hold the others."""

import asyncio
import uuid

import pytest
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.events.failures import FailureStatus
from services.events.outbox import record_event
from services.models import EventFailure, ProcessedEvent
from services.principal import ANONYMOUS
from services.queue import queue_name
from services.runtime import Runtime
from services.worker import event_task
from tests.factories import add_event


async def commit_one(runtime: Runtime, tag: str) -> uuid.UUID:
    """What the edge does after one commit: publish the event it recorded."""
    async with runtime.sessionmaker() as session:
        event = record_event(
            session, EventType.complaint_verified, actor=ANONYMOUS, data={"t": tag}
        )
    await runtime.publisher.publish([event])
    return event.id


async def test_commits_in_the_same_moment_share_one_job_per_consumer(runtime: Runtime) -> None:
    runtime.settings.publish_batch_window_seconds = 0.05  # a wide window: the three meet

    ids = await asyncio.gather(*(commit_one(runtime, str(i)) for i in range(3)))

    queued = await runtime.redis.queued_jobs(
        queue_name=queue_name(runtime.settings, "notifications")
    )
    assert len(queued) == 1
    (job,) = queued
    assert [payload["id"] for payload in job.args[0]] == [str(i) for i in ids]
    assert job.job_id == f"{runtime.settings.queue_prefix}:notifications:{ids[0]}+3"


async def test_a_commit_alone_keeps_its_events_own_job_id(runtime: Runtime) -> None:
    event_id = await commit_one(runtime, "alone")

    job_id = f"{runtime.settings.queue_prefix}:notifications:{event_id}"
    queue = queue_name(runtime.settings, "notifications")
    assert await Job(job_id, runtime.redis, _queue_name=queue).status() == JobStatus.queued


async def test_a_batch_is_handled_in_order_and_a_repeat_is_skipped(
    runtime: Runtime, session: AsyncSession
) -> None:
    first, second = await add_event(session), await add_event(session)
    await session.commit()
    seen: list[uuid.UUID] = []

    async def note(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
        seen.append(event.id)

    task = event_task("probe", note)
    batch = [EventEnvelope.of(e).model_dump(mode="json") for e in (first, second)]

    assert await task({"runtime": runtime}, batch) == "processed 2, duplicates 0"
    assert await task({"runtime": runtime}, batch) == "processed 0, duplicates 2"
    assert seen == [first.id, second.id]


async def test_one_bad_event_in_a_batch_is_recorded_and_the_others_processed(
    runtime: Runtime, session: AsyncSession
) -> None:
    good, bad, later = await add_event(session), await add_event(session), await add_event(session)
    await session.commit()

    async def picky(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
        if event.id == bad.id:
            raise ValueError("a field the handler does not understand")

    task = event_task("probe", picky)
    batch = [EventEnvelope.of(e).model_dump(mode="json") for e in (good, bad, later)]

    assert await task({"runtime": runtime}, batch) == "processed 2, failed 1"

    for event in (good, later):
        assert await session.get(ProcessedEvent, ("probe", event.id)) is not None
    assert await session.get(ProcessedEvent, ("probe", bad.id)) is None
    failure = await session.get(EventFailure, ("probe", bad.id))
    assert failure is not None and failure.status == FailureStatus.failed


@pytest.mark.parametrize("size", [1, 100])
async def test_a_full_batch_is_pushed_without_waiting_for_the_window(
    runtime: Runtime, size: int
) -> None:
    runtime.settings.publish_batch_window_seconds = 30  # never reached in this test
    runtime.settings.publish_batch_max = size

    async with asyncio.timeout(5):
        await asyncio.gather(*(commit_one(runtime, str(i)) for i in range(size)))

    queued = await runtime.redis.queued_jobs(
        queue_name=queue_name(runtime.settings, "notifications")
    )
    assert sum(len(j.args[0]) if isinstance(j.args[0], list) else 1 for j in queued) == size
