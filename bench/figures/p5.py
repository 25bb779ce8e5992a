"""P5: signed deliveries/s with two notifications workers, and a slow endpoint's effect."""

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import text

from bench.figures.context import Context
from bench.figures.endpoints import deactivate_endpoint, register_endpoint, start_receiver
from bench.figures.probes import at_least, inbox_count, optional_count, wait_for
from bench.figures.workers import beside_notifications
from bench.figures.workload import file_complaints
from bench.load import percentile
from bench.receiver import ReceiverClient
from bench.report import Figure
from bench.stack import Platform
from services.events.catalogue import Consumer

log = logging.getLogger("bench")


@dataclass
class Batch:
    requests: int  # at the fast endpoints
    unique: int
    expected: int
    rate_per_s: float  # requests / (last arrival - first arrival)
    p50_ms: float
    p99_ms: float
    censored: bool  # p99 not reached within the timeout
    seconds: float  # batch start to the last fast arrival (or to the timeout)
    startup_seconds: float  # workers started to the batch start
    details: dict[str, Any]


async def delivery_batch(
    platform: Platform,
    receiver: ReceiverClient,
    complaints: int,
    fast: list[str],
    within: float,
    workers: int = 2,
) -> Batch:
    """File complaints with the notifications workers stopped, then start them and time the
    deliveries arriving at the fast endpoints."""
    await platform.scale_workers(beside_notifications(0))
    routed = await inbox_count(platform, Consumer.routing)
    await file_complaints(platform, complaints)
    await wait_for(
        "routing",
        lambda: _inbox_at_least(platform, Consumer.routing, routed + complaints),
        120,
        platform=platform,
    )

    async def published() -> bool:
        unpublished = await optional_count(
            platform, "SELECT count(*) FROM events WHERE published_at IS NULL"
        )
        return not unpublished

    await wait_for("publishing", published, 60, platform=platform)
    queued = int(await platform.redis.zcard(platform.queue(Consumer.notifications)))
    expected = complaints * 3 * len(fast)
    log.info(
        "%s: %d complaints routed, %d deliveries to make: starting %d notifications workers",
        platform.tag,
        complaints,
        expected,
        workers,
    )
    await receiver.reset()
    fanned_out = await inbox_count(platform, Consumer.notifications)
    started = time.monotonic()
    await platform.scale_workers(beside_notifications(workers), wait=False)
    # The batch starts with the workers' first action: the first event fanned out (it enters
    # the notifications inbox) or the first delivery received, whichever comes first.
    fan_out_seen: list[float] = []

    async def fast_requests() -> int:
        if not fan_out_seen and await inbox_count(platform, Consumer.notifications) > fanned_out:
            fan_out_seen.append(time.monotonic())
        counts: dict[str, int] = (await receiver.stats())["counts"]
        return sum(n for key, n in counts.items() if key.split("|")[0] in fast)

    complete = True
    try:
        await wait_for(
            "deliveries", lambda: at_least(fast_requests, expected), within, 0.25, platform
        )
    except TimeoutError:
        complete = False
    ended = time.monotonic()
    log.info(
        "%s: deliveries %s after %.1f s",
        platform.tag,
        "done" if complete else "cut",
        ended - started,
    )
    records = await receiver.records()
    await platform.scale_workers(beside_notifications(0))

    fast_set = set(fast)
    arrivals = [r[1] for r in records if r[0] in fast_set]
    first_arrival = min((r[1] for r in records), default=ended)
    begin = min([first_arrival, *fan_out_seen])
    first: dict[tuple[str, str | None], float] = {}
    for name, arrived, _, _, webhook_id in records:
        if name in fast_set:
            key = (name, webhook_id)
            first[key] = min(arrived, first.get(key, math.inf))
    missing = max(0, expected - len(first))
    latencies = [(t - begin) * 1000 for t in first.values()] + [math.inf] * missing
    p99 = percentile(latencies, 99)
    censored = math.isinf(p99)
    last = max(arrivals, default=begin)
    span = last - begin if complete else ended - begin
    statuses: dict[str, int] = {}
    with contextlib.suppress(Exception):
        async with platform.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
            )
            statuses = {str(status): int(n) for status, n in rows}
    return Batch(
        requests=len(arrivals),
        unique=len(first),
        expected=expected,
        rate_per_s=len(arrivals) / (last - begin) if last > begin else math.nan,
        p50_ms=percentile(latencies, 50),
        p99_ms=(ended - begin) * 1000 if censored else p99,
        censored=censored,
        seconds=span,
        startup_seconds=begin - started,
        details={
            "complaints": complaints,
            "endpoints": len(fast),
            "events_queued_for_notifications": queued,
            "requests_at_fast_endpoints": len(arrivals),
            "unique_fast_deliveries": len(first),
            "expected_fast_deliveries": expected,
            "complete": complete,
            "timeout_s": within,
            "seconds_batch_start_to_last": round(span, 2),
            "workers_start_to_batch_start_s": round(begin - started, 2),
            "first_fan_out_to_first_arrival_s": round(first_arrival - begin, 2),
            "receiver_only_rate_per_s": round(len(arrivals) / (last - first_arrival), 1)
            if last > first_arrival
            else None,
            "requests_at_slow_endpoints": sum(1 for r in records if r[0] not in fast_set),
            "delivery_statuses_in_database": statuses,
        },
    )


async def _inbox_at_least(platform: Platform, consumer: str, expected: int) -> bool:
    return await inbox_count(platform, consumer) >= expected


async def p5(ctx: Context) -> list[Figure]:
    cfg = ctx.config
    fast = [f"fast-{i:02d}" for i in range(cfg.p5_endpoints)]
    complaints = max(1, math.ceil(cfg.p5_deliveries / (3 * cfg.p5_endpoints)))
    async with ctx.platform("p5") as platform:
        await platform.start_services()
        await platform.scale_workers(beside_notifications(0))
        receiver = await start_receiver(platform, slow_seconds=10.0)
        async with aiohttp.ClientSession() as http:
            for name in fast:
                await register_endpoint(http, platform, receiver.url(name), [])
            alone = await delivery_batch(platform, receiver, complaints, fast, cfg.p5_timeout)
            if alone.unique == 0:
                raise RuntimeError(
                    f"no delivery arrived within {cfg.p5_timeout:.0f} s: {alone.details}"
                )
            slow_id = await register_endpoint(http, platform, receiver.url("slow-00"), [])
            # Enough to tell a ratio of 1.2 from a failure, bounded.
            cap = min(cfg.p5_timeout, max(20.0 if cfg.quick else 30.0, 2 * alone.seconds))
            beside = await delivery_batch(platform, receiver, complaints, fast, cap)
            await deactivate_endpoint(http, platform, slow_id)

    ratio = beside.p99_ms / alone.p99_ms if alone.p99_ms else math.nan
    definition = (
        "the batch starts with the workers' first action (first event fanned out or first "
        "delivery received); rate = requests at the receiver / (last arrival - batch start); "
        "latency of a delivery = its arrival minus the batch start (all of the pre-filled "
        "batch is due from the start)"
    )
    return [
        Figure(
            "P5",
            "signed deliveries/s, 2 notifications workers",
            round(alone.rate_per_s, 1),
            "/s",
            "≥ 1,000/s",
            alone.rate_per_s >= 1000,
            details=alone.details
            | {"p50_ms": alone.p50_ms, "p99_ms": alone.p99_ms, "latency": definition},
        ),
        Figure(
            "P5.slow",
            "fast endpoints' p99 beside a 10 s endpoint",
            round(beside.p99_ms, 1),
            "ms",
            "ratio ≤ 1.20",
            (not beside.censored) and ratio <= 1.2,
            baseline=round(alone.p99_ms, 1),
            ratio=round(ratio, 3),
            details=beside.details
            | {
                "censored": beside.censored,
                "rate_per_s": round(beside.rate_per_s, 1),
                "p50_ms": beside.p50_ms,
                "baseline": "P5's own p99, without the slow endpoint",
                "latency": definition,
                "slow_endpoint": "answers 200 after sleeping 10 s",
            },
        ),
    ]
