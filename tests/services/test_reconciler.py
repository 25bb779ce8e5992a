"""Published is not processed: the reconciler settles what every consumer took, republishes
what one did not (fresh job ids), and lists what keeps failing for admins to retry."""

from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.catalogue import EventType
from services.events.failures import FailureStatus
from services.events.reconciler import Reconciler
from services.models import Event, EventFailure, ProcessedEvent
from services.queue import queue_name
from services.runtime import Runtime
from tests.factories import add_complaint, add_event

LATE = 120  # seconds: older than the bound these tests use


def reconciler(runtime: Runtime, **settings: int) -> Reconciler:
    tuned = runtime.settings.model_copy(
        update={"reconcile_after_seconds": 30, "reconcile_max_republishes": 2, **settings}
    )
    return Reconciler(tuned, runtime.redis, runtime.sessionmaker)


async def job_status(runtime: Runtime, consumer: str, job_id: str) -> JobStatus:
    queue = queue_name(runtime.settings, consumer)
    return await Job(job_id, runtime.redis, _queue_name=queue).status()


async def test_an_event_every_consumer_processed_is_settled(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session)
    event = await add_event(session, complaint=complaint, age_seconds=LATE)
    session.add_all(
        [
            ProcessedEvent(consumer="routing", event_id=event.id),
            ProcessedEvent(consumer="notifications", event_id=event.id),
        ]
    )
    await session.commit()

    await reconciler(runtime).run()

    await session.refresh(event)
    assert event.settled_at is not None
    assert await session.get(EventFailure, ("routing", event.id)) is None


async def test_a_recent_event_is_left_to_its_jobs(runtime: Runtime, session: AsyncSession) -> None:
    event = await add_event(session, complaint=await add_complaint(session), age_seconds=1)
    await session.commit()

    await reconciler(runtime).run()

    await session.refresh(event)
    assert event.settled_at is None
    assert await session.get(EventFailure, ("routing", event.id)) is None


async def test_a_consumer_that_never_took_the_event_gets_it_again_under_a_fresh_job_id(
    runtime: Runtime, session: AsyncSession
) -> None:
    event = await add_event(session, complaint=await add_complaint(session), age_seconds=LATE)
    session.add(ProcessedEvent(consumer="notifications", event_id=event.id))
    await session.commit()

    report = await reconciler(runtime).run()

    assert report.republished >= 1
    prefix = runtime.settings.queue_prefix
    assert await job_status(runtime, "routing", f"{prefix}:routing:{event.id}:r0.1") != (
        JobStatus.not_found  # queued, or already taken by a running platform's worker
    )
    # Notifications has it already: nothing for that queue.
    assert await job_status(
        runtime, "notifications", f"{prefix}:notifications:{event.id}:r0.1"
    ) == (JobStatus.not_found)
    failure = await session.get(EventFailure, ("routing", event.id), populate_existing=True)
    assert failure is not None
    assert (failure.status, failure.republished) == (FailureStatus.retrying, 1)
    await session.refresh(event)
    assert event.settled_at is None


async def test_a_republished_event_is_given_time_before_the_next_republish(
    runtime: Runtime, session: AsyncSession
) -> None:
    event = await add_event(session, complaint=await add_complaint(session), age_seconds=LATE)
    await session.commit()
    await reconciler(runtime).run()

    await reconciler(runtime).run()

    failure = await session.get(EventFailure, ("routing", event.id), populate_existing=True)
    assert failure is not None and failure.republished == 1


async def test_an_event_processed_after_a_republish_is_resolved_and_settled(
    runtime: Runtime, session: AsyncSession
) -> None:
    event = await add_event(session, complaint=await add_complaint(session), age_seconds=LATE)
    await session.commit()
    await reconciler(runtime).run()
    session.add_all(
        [
            ProcessedEvent(consumer="routing", event_id=event.id),
            ProcessedEvent(consumer="notifications", event_id=event.id),
        ]
    )
    await session.commit()

    await reconciler(runtime).run()

    failure = await session.get(EventFailure, ("routing", event.id), populate_existing=True)
    assert failure is not None and failure.status == FailureStatus.resolved
    assert failure.resolved_at is not None
    await session.refresh(event)
    assert event.settled_at is not None


async def test_after_the_last_republish_the_event_is_failed_and_settled(
    runtime: Runtime, session: AsyncSession
) -> None:
    event = await add_event(session, complaint=await add_complaint(session), age_seconds=LATE)
    session.add(ProcessedEvent(consumer="notifications", event_id=event.id))
    await session.commit()
    # reconcile_after_seconds=0: every run may republish again at once.
    eager = reconciler(runtime, reconcile_after_seconds=0)

    for _ in range(4):
        await eager.run()

    failure = await session.get(EventFailure, ("routing", event.id), populate_existing=True)
    assert failure is not None
    assert (failure.status, failure.republished) == (FailureStatus.failed, 2)
    await session.refresh(event)
    assert event.settled_at is not None


async def test_an_unpublished_event_is_the_relays_not_the_reconcilers(
    runtime: Runtime, session: AsyncSession
) -> None:
    event = await add_event(
        session, complaint=await add_complaint(session), age_seconds=LATE, published=False
    )
    await session.commit()

    await reconciler(runtime).run()

    assert await session.get(EventFailure, ("routing", event.id)) is None


async def test_the_relay_records_an_unknown_event_type_and_publishes_the_rest(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session)
    strange = await add_event(
        session, "complaint.teleported", complaint=complaint, age_seconds=LATE, published=False
    )
    good = await add_event(
        session,
        EventType.complaint_verified,
        complaint=complaint,
        age_seconds=LATE - 1,
        published=False,
    )
    await session.commit()

    await runtime.publisher.relay()

    prefix = runtime.settings.queue_prefix
    assert await job_status(runtime, "notifications", f"{prefix}:notifications:{good.id}") != (
        JobStatus.not_found  # queued, or already taken by a running platform's worker
    )
    failure = await session.get(EventFailure, ("relay", strange.id))
    assert failure is not None and failure.status == FailureStatus.failed
    assert "complaint.teleported" in (failure.last_error or "")
    for event in (strange, good):
        refreshed = await session.get(Event, event.id, populate_existing=True)
        assert refreshed is not None and refreshed.published_at is not None
