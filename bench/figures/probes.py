"""Watching a platform: inbox counts, queue depths and the bounded waits built on them."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.stack import Platform
from services.events.catalogue import Consumer

log = logging.getLogger("bench")


async def inbox_count(platform: Platform, consumer: str) -> int:
    count = await platform.scalar(
        "SELECT count(*) FROM processed_events WHERE consumer = :consumer", consumer=consumer
    )
    return int(count or 0)


async def optional_count(platform: Platform, sql: str) -> int | None:
    """A count that may not exist in every version of the schema (None then)."""
    try:
        value = await platform.scalar(sql)
    except Exception as exc:
        log.debug("%s: %r", sql, exc)
        return None
    return int(value or 0)


async def depths(platform: Platform) -> dict[str, int | None]:
    """What is waiting: the arq queues (queued, running and deferred jobs), the pending webhook
    deliveries and the events the outbox has not published yet."""
    routing = await platform.redis.zcard(platform.queue(Consumer.routing))
    notifications = await platform.redis.zcard(platform.queue(Consumer.notifications))
    return {
        "routing_queue": int(routing),
        "notifications_queue": int(notifications),
        "pending_deliveries": await optional_count(
            platform, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
        ),
        "unpublished_events": await optional_count(
            platform, "SELECT count(*) FROM events WHERE published_at IS NULL"
        ),
    }


async def due_jobs(platform: Platform) -> int:
    """Jobs due now on both queues (deferred retries are not)."""
    now_ms = int(time.time() * 1000)
    total = 0
    for consumer in (Consumer.routing, Consumer.notifications):
        total += int(await platform.redis.zcount(platform.queue(consumer), "-inf", now_ms))
    return total


async def wait_drained(platform: Platform, within: float) -> dict[str, Any]:
    """Wait until no job is due (beyond a cron or two) and every event is published."""
    started = time.monotonic()
    calm = 0
    for _ in range(int(within / 0.5) + 1):
        platform.check_alive()
        due = await due_jobs(platform)
        unpublished = await optional_count(
            platform, "SELECT count(*) FROM events WHERE published_at IS NULL"
        )
        calm = calm + 1 if due <= 2 and not unpublished else 0
        if calm >= 2:
            return {"drained": True, "seconds": round(time.monotonic() - started, 1)}
        if time.monotonic() - started > within:
            break
        await asyncio.sleep(0.5)
    return {"drained": False, "seconds": round(time.monotonic() - started, 1)}


async def wait_for(
    what: str,
    check: Callable[[], Awaitable[bool]],
    within: float,
    interval: float = 0.2,
    platform: Platform | None = None,
) -> float:
    """Poll `check` until true; the seconds it took. Raises TimeoutError after `within`."""
    started = time.monotonic()
    for _ in range(int(within / interval) + 2):
        if platform is not None:
            platform.check_alive()
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > within:
            break
        await asyncio.sleep(interval)
    raise TimeoutError(f"{what}: not within {within:.0f} s")


async def at_least(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() >= expected
