"""P3: routing decisions/s in one routing worker against arq no-op jobs/s."""

import asyncio
import json
import math
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from uuid6 import uuid7

from bench.figures.context import Context
from bench.figures.probes import (
    inbox_count,
)
from bench.figures.workers import only
from bench.figures.workload import COMPLAINT
from bench.load import median
from bench.report import Figure
from bench.stack import Platform
from services.complaints import complaint_data
from services.events.catalogue import Consumer, EventType
from services.events.outbox import HANDLE_EVENT, Publisher
from services.models import Complaint, Event


async def prefill_submitted(platform: Platform, count: int, round_: int) -> list[Event]:
    """`count` complaints in `submitted` with their complaint.submitted events, in bulk."""
    now = datetime.now(UTC)
    complaints: list[dict[str, Any]] = []
    events: list[Event] = []
    for i in range(count):
        row = {
            "id": uuid.UUID(str(uuid7())),
            "tracking_id": f"ADN-B{round_}{i:07d}",
            "report_type": COMPLAINT["report_type"],
            "title": COMPLAINT["title"],
            "description": COMPLAINT["description"],
            "category_code": COMPLAINT["category"],
            "region_code": COMPLAINT["region_code"],
            "reporter_name": "Siti",
            "anonymous": False,
            "confidential": False,
            "submitted_by": "anonymous:-",
            "status": "submitted",
            "escalation_level": 0,
            "version": 1,
        }
        complaints.append(row)
        events.append(
            Event(
                id=uuid.UUID(str(uuid7())),
                type=EventType.complaint_submitted.value,
                occurred_at=now,
                complaint_id=row["id"],
                actor_kind="anonymous",
                actor_id=None,
                data=complaint_data(Complaint(**row, assignments=[])),
                trace_id=None,
            )
        )
    event_rows = [
        {
            "id": e.id,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "complaint_id": e.complaint_id,
            "actor_kind": e.actor_kind,
            "actor_id": e.actor_id,
            "data": e.data,
            "trace_id": e.trace_id,
        }
        for e in events
    ]
    async with platform.sessionmaker() as session:
        for start in range(0, count, 2000):
            await session.execute(insert(Complaint), complaints[start : start + 2000])
            await session.execute(insert(Event), event_rows[start : start + 2000])
        await session.commit()
    return events


async def publish(platform: Platform, events: list[Event]) -> None:
    """Enqueue the events exactly as the outbox does: through the project's Publisher."""
    publisher = Publisher(platform.settings, platform.redis, platform.sessionmaker)
    limit = asyncio.Semaphore(4)

    async def chunk(part: list[Event]) -> None:
        async with limit:
            await publisher.publish(part)

    await asyncio.gather(*(chunk(events[i : i + 500]) for i in range(0, len(events), 500)))
    closing = getattr(publisher, "close", None)  # a publisher that marks events later
    if closing is not None:
        await closing()
    async with platform.engine.begin() as conn:
        # Marked, so the relay finds nothing to redo; the notifications consumer is not part of
        # this figure: its inbox gets the events, so the reconciler has nothing to chase either.
        await conn.execute(
            text("UPDATE events SET published_at = now() WHERE published_at IS NULL")
        )
        await conn.execute(
            text(
                "INSERT INTO processed_events (consumer, event_id) "
                "SELECT 'notifications', id FROM events ON CONFLICT DO NOTHING"
            )
        )


@dataclass
class Drain:
    """How fast one worker process emptied a pre-filled queue."""

    jobs: int
    seconds: float  # from the first completed job to the last
    startup_seconds: float  # from the process start to the first completed job

    @property
    def per_s(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "seconds": round(self.seconds, 3),
            "startup_seconds": round(self.startup_seconds, 2),
            "per_s": round(self.per_s, 1),
        }


async def time_drain(
    done: Callable[[], Awaitable[int]],
    total: int,
    within: float,
    platform: Platform,
    interval: float = 0.05,
) -> Drain:
    """Poll `done()` (jobs completed so far) from a worker's start until it reaches `total`."""
    spawned = time.monotonic()
    first_at: float | None = None
    first_done = 0
    for _ in range(int(within / interval) + 2):
        platform.check_alive()
        now = time.monotonic()
        completed = await done()
        if first_at is None and completed > 0:
            first_at, first_done = now, completed
        if completed >= total:
            assert first_at is not None
            if first_at == now:
                # All done by the first poll (a few batch jobs): time them from the spawn,
                # start-up included, a conservative figure.
                return Drain(total, now - spawned, 0.0)
            # The jobs done by the first poll ran before the clock started.
            return Drain(total - first_done, now - first_at, first_at - spawned)
        if now - spawned > within:
            break
        await asyncio.sleep(interval)
    raise TimeoutError(f"{total} jobs not done within {within:.0f} s")


async def routing_round(ctx: Context, platform: Platform, round_: int) -> tuple[Drain, float]:
    count = ctx.config.p3_events
    queue = platform.queue(Consumer.routing)
    base = await inbox_count(platform, Consumer.routing)
    started = time.monotonic()
    events = await prefill_submitted(platform, count, round_)
    await publish(platform, events)
    prefill_seconds = time.monotonic() - started
    # A job may carry a batch of events (the Publisher coalesces): count events, not jobs.
    # Only event jobs: the queue also holds the crons a worker enqueued (relay, reconcile).
    queued = sum(
        len(job.args[0]) if isinstance(job.args[0], list) else 1
        for job in await platform.redis.queued_jobs(queue_name=queue)
        if job.function == HANDLE_EVENT
    )
    if queued < count:
        raise RuntimeError(f"the Publisher queued {queued} of {count} events on {queue}")
    # Started without waiting for it to be up: the clock starts at its first decision.
    await platform.scale_workers(only(Consumer.routing, 1), wait=False)

    async def done() -> int:
        return await inbox_count(platform, Consumer.routing) - base

    try:
        drain = await time_drain(done, count, 120 + count / 20, platform, interval=0.1)
    finally:
        await platform.scale_workers(lambda e: 0)
    # Routing's own events went to the notifications queue, which no process here consumes.
    await ctx.stack.purge_prefix_pattern(f"*{platform.prefix}:{Consumer.notifications}*")
    return drain, prefill_seconds


async def noop_round(ctx: Context, platform: Platform, round_: int) -> tuple[Drain, dict[str, Any]]:
    count = ctx.config.p3_events
    queue = platform.queue("noop")
    limit = asyncio.Semaphore(32)

    async def enqueue(i: int) -> None:
        async with limit:
            await platform.redis.enqueue_job(
                "noop", _job_id=f"{platform.prefix}:noop:{round_}:{i}", _queue_name=queue
            )

    await asyncio.gather(*(enqueue(i) for i in range(count)))
    queued = int(await platform.redis.zcard(queue))
    if queued != count:
        raise RuntimeError(f"{queued} of {count} no-op jobs queued")
    child = platform.spawn(
        "noop-worker",
        [sys.executable, "-m", "bench.baselines.noop_worker"],
        {"BENCH_NOOP_QUEUE": queue},
    )

    async def done() -> int:
        return count - int(await platform.redis.zcard(queue))

    try:
        drain = await time_drain(done, count, 60 + count / 50, platform)
    finally:
        platform.stop_child(child)
    settings: dict[str, Any] = {}
    for line in child.tail(20_000).splitlines():
        if line.startswith("BENCH-WORKER-SETTINGS "):
            settings = json.loads(line.split(" ", 1)[1])
    await ctx.stack.purge_prefix_pattern(f"*{platform.prefix}:noop*")
    return drain, settings


async def p3(ctx: Context) -> list[Figure]:
    cfg = ctx.config
    # The reconciler would chase the notifications consumer, which this figure leaves out.
    quiet = {"ADUAN_RECONCILE_AFTER_SECONDS": "86400"}
    subject: list[Drain] = []
    baseline: list[Drain] = []
    prefill: list[float] = []
    settings: dict[str, Any] = {}
    async with ctx.stack.platform("p3", extra_env=quiet) as platform:
        for round_ in range(cfg.p3_rounds):
            drain, settings = await noop_round(ctx, platform, round_)
            baseline.append(drain)
            drain, seconds = await routing_round(ctx, platform, round_)
            subject.append(drain)
            prefill.append(round(seconds, 1))
    value = median([d.per_s for d in subject])
    floor = median([d.per_s for d in baseline])
    ratio = value / floor if floor else math.nan
    return [
        Figure(
            "P3",
            "routing decisions/s, one routing worker",
            round(value, 1),
            "/s",
            "≥ 0.40 × no-op",
            ratio >= 0.40,
            baseline=round(floor, 1),
            ratio=round(ratio, 3),
            details={
                "events": cfg.p3_events,
                "rounds": cfg.p3_rounds,
                "order": "no-op, routing; alternated per round",
                "baseline": "arq no-op jobs/s, one worker, the project's worker settings",
                "worker_settings": settings,
                "subject_runs": [d.as_dict() for d in subject],
                "baseline_runs": [d.as_dict() for d in baseline],
                "prefill_seconds": prefill,
                "env": quiet,
            },
        )
    ]
