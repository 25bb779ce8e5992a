"""Published is not processed: find events a consumer never took and publish them again.

A job can die after it was enqueued (tries exhausted, `job_timeout`, a bug, Redis losing the
key). Every worker runs `reconcile` as a cron; it is safe on every replica (rows are claimed with
`FOR UPDATE SKIP LOCKED` in one short transaction, and Redis is written only after the commit):

- an event whose consumers all have it in their inbox (or gave up on it) is settled;
- a consumer still missing it `reconcile_after_seconds` after the event (or after the last
  republish) gets it again under a fresh job id;
- after `reconcile_max_republishes` the (consumer, event) is `failed`: admins list it and retry
  it through `/api/v1/ops/failed-events`.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis

from services.db import SessionMaker
from services.events.catalogue import consumers_of
from services.events.envelope import EventEnvelope
from services.events.failures import FailureRepository, FailureStatus
from services.events.outbox import event_jobs
from services.logging import get_logger
from services.models import Event, EventFailure
from services.queue import JobSpec, enqueue_many
from services.settings import Settings

log = get_logger(__name__)


@dataclass
class Report:
    settled: int = 0
    republished: int = 0
    failed: int = 0
    jobs: list[JobSpec] = field(default_factory=list)


def republish_tag(failure: EventFailure) -> str:
    return f"r{failure.admin_retries}.{failure.republished}"


class Reconciler:
    def __init__(self, settings: Settings, redis: ArqRedis, sessionmaker: SessionMaker) -> None:
        self.settings = settings
        self.redis = redis
        self.sessionmaker = sessionmaker

    async def run(self, *, batch: int = 500, max_batches: int = 20) -> Report:
        total = Report()
        after: tuple[datetime, uuid.UUID] | None = None
        for _ in range(max_batches):
            async with self.sessionmaker() as session:
                repo = FailureRepository(session)
                now = datetime.now(UTC)
                bound = now - timedelta(seconds=self.settings.reconcile_after_seconds)
                events = await repo.unsettled(before=bound, after=after, limit=batch)
                if not events:
                    break
                report = await self._reconcile(repo, events, now, bound)
                await session.commit()
            # After the commit: a failed push is retried by the next run, never lost.
            await enqueue_many(self.redis, report.jobs)
            total.settled += report.settled
            total.republished += report.republished
            total.failed += report.failed
            after = (events[-1].occurred_at, events[-1].id)
            if len(events) < batch:
                break
        if total.republished or total.failed:
            log.warning(
                "reconciler: %d republished, %d failed for good, %d settled",
                total.republished,
                total.failed,
                total.settled,
            )
        return total

    async def _reconcile(
        self, repo: FailureRepository, events: list[Event], now: datetime, bound: datetime
    ) -> Report:
        report = Report()
        ids = [e.id for e in events]
        consumers_by_event = {e.id: _consumers(e) for e in events}
        every_consumer = {c for cs in consumers_by_event.values() for c in cs}
        processed = await repo.processed(every_consumer, ids)
        failures = await repo.for_events(ids)
        settled: list[uuid.UUID] = []
        for event in events:
            waiting = False
            for consumer in consumers_by_event[event.id]:
                failure = failures.get((consumer, event.id))
                if (consumer, event.id) in processed:
                    if failure is not None and failure.status != FailureStatus.resolved:
                        failure.status = FailureStatus.resolved.value
                        failure.resolved_at = now
                    continue
                if failure is not None and failure.status == FailureStatus.failed:
                    continue  # an admin's to retry
                if failure is not None and failure.updated_at > bound:
                    waiting = True  # republished (or failed) lately: give that job its time
                    continue
                waiting = True
                if failure is None:
                    failure = EventFailure(
                        consumer=consumer,
                        event_id=event.id,
                        status=FailureStatus.retrying.value,
                        republished=0,
                        admin_retries=0,
                        last_error="not processed in time",
                        first_failed_at=now,
                    )
                    repo.add(failure)
                failure.updated_at = now
                if failure.republished >= self.settings.reconcile_max_republishes:
                    failure.status = FailureStatus.failed.value
                    report.failed += 1
                    continue
                failure.status = FailureStatus.retrying.value
                failure.republished += 1
                report.jobs += event_jobs(
                    self.settings, EventEnvelope.of(event), [consumer], republish_tag(failure)
                )
                report.republished += 1
            if not waiting:
                settled.append(event.id)
        await repo.settle(settled, now)
        report.settled = len(settled)
        return report


def _consumers(event: Event) -> tuple[str, ...]:
    try:
        return tuple(consumers_of(event.type))
    except ValueError:
        return ()  # an unknown type has nobody to wait for
