"""Events are written with the change, pushed after commit, and relayed when the push fails."""

import pytest
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession

from services.embedded import free_port
from services.events.catalogue import EventType
from services.events.outbox import Publisher, record_event
from services.models import Event
from services.principal import ANONYMOUS
from services.queue import create_arq_redis, queue_name
from services.runtime import Runtime
from services.uow import unit_of_work


def job_id(runtime: Runtime, consumer: str, event: Event) -> str:
    return f"{runtime.settings.queue_prefix}:{consumer}:{event.id}"


async def job_status(runtime: Runtime, consumer: str, event: Event) -> JobStatus:
    queue = queue_name(runtime.settings, consumer)
    return await Job(job_id(runtime, consumer, event), runtime.redis, _queue_name=queue).status()


async def test_committed_event_is_queued_for_each_consumer_and_marked_published(
    runtime: Runtime, session: AsyncSession
) -> None:
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as uow:
        event = record_event(uow, EventType.complaint_submitted, actor=ANONYMOUS, data={"x": 1})

    assert await job_status(runtime, "routing", event) == JobStatus.queued
    assert await job_status(runtime, "notifications", event) == JobStatus.queued
    await runtime.publisher.flush()  # the published marks are batched off the request
    stored = await session.get(Event, event.id)
    assert stored is not None and stored.published_at is not None


async def test_rolled_back_change_publishes_nothing(
    runtime: Runtime, session: AsyncSession
) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(runtime.sessionmaker, runtime.publisher) as uow:
            event = record_event(uow, EventType.complaint_verified, actor=ANONYMOUS)
            await uow.flush()
            raise RuntimeError("the change failed")

    assert await session.get(Event, event.id) is None
    assert await job_status(runtime, "notifications", event) == JobStatus.not_found


async def test_redis_down_delays_the_event_and_the_relay_publishes_it_once(
    runtime: Runtime, session: AsyncSession
) -> None:
    down = runtime.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    dead_redis = create_arq_redis(down)
    offline = Publisher(down, dead_redis, runtime.sessionmaker)

    async with unit_of_work(runtime.sessionmaker, offline) as uow:
        event = record_event(uow, EventType.complaint_verified, actor=ANONYMOUS)
    await dead_redis.aclose()

    stored = await session.get(Event, event.id)
    assert stored is not None and stored.published_at is None
    assert await job_status(runtime, "notifications", event) == JobStatus.not_found

    assert await runtime.publisher.relay() >= 1
    assert await job_status(runtime, "notifications", event) == JobStatus.queued
    await session.refresh(stored)
    assert stored.published_at is not None

    # Publishing again (fast path racing the relay) queues no second job.
    await runtime.publisher.publish([stored])
    queued = await runtime.redis.queued_jobs(
        queue_name=queue_name(runtime.settings, "notifications")
    )
    assert [j.job_id for j in queued].count(job_id(runtime, "notifications", event)) == 1
