"""Delivery jobs on the notifications queue.

Job id `<queue_prefix>:delivery:<delivery id>:<attempt>`, attempt counted from 1: one id per
attempt, so the fast path, the retry scheduler and the sweeper may all enqueue the same attempt
and arq keeps one job (it refuses an id that is queued or still has a result).
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from arq.connections import ArqRedis

from services.events.catalogue import Consumer
from services.logging import get_logger
from services.queue import queue_name
from services.settings import Settings

log = get_logger(__name__)
DELIVER_WEBHOOK = "deliver_webhook"


def delivery_job_id(settings: Settings, delivery_id: uuid.UUID, attempt: int) -> str:
    return f"{settings.queue_prefix}:delivery:{delivery_id}:{attempt}"


async def enqueue_delivery(
    redis: ArqRedis,
    settings: Settings,
    delivery_id: uuid.UUID,
    attempt: int,
    *,
    defer_until: datetime | None = None,
) -> bool:
    """True when a new job was queued; False when that attempt already has one."""
    job = await redis.enqueue_job(
        DELIVER_WEBHOOK,
        str(delivery_id),
        attempt,
        _job_id=delivery_job_id(settings, delivery_id, attempt),
        _queue_name=queue_name(settings, Consumer.notifications),
        _defer_until=defer_until,
    )
    return job is not None


async def enqueue_after_commit(
    redis: ArqRedis,
    settings: Settings,
    jobs: Iterable[tuple[uuid.UUID, int, datetime | None]],
) -> int:
    """Fast path after a commit. A failure only delays: the sweeper finds due deliveries."""
    queued = 0
    try:
        for delivery_id, attempt, defer_until in jobs:
            queued += await enqueue_delivery(
                redis, settings, delivery_id, attempt, defer_until=defer_until
            )
    except Exception as exc:  # any fault defers to the sweeper
        log.warning("could not enqueue deliveries, the sweeper will: %r", exc)
    return queued
