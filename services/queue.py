"""arq queue helpers: one queue per consumer, namespaced by ADUAN_QUEUE_PREFIX."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio import ConnectionPool

from services.settings import Settings


def queue_name(settings: Settings, consumer: str) -> str:
    return f"{settings.queue_prefix}:{consumer}"


def redis_settings(settings: Settings) -> RedisSettings:
    rs = RedisSettings.from_dsn(settings.require_redis_url())
    rs.conn_timeout = 2
    rs.conn_retries = 30  # a worker waits out a short Redis restart instead of dying
    rs.conn_retry_delay = 1
    return rs


def create_arq_redis(settings: Settings) -> ArqRedis:
    """A client that does not connect until used, so a service starts while Redis is down."""
    pool = ConnectionPool.from_url(
        settings.require_redis_url(), socket_connect_timeout=2, socket_timeout=2
    )
    return ArqRedis(pool)


def backoff(job_try: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Capped exponential backoff with full jitter, in seconds."""
    return random.uniform(0, min(cap, base * 2 ** max(job_try - 1, 0)))


@dataclass(frozen=True)
class JobSpec:
    """One arq job to enqueue: arq's own job format, so arq workers run it unchanged."""

    function: str
    args: tuple[Any, ...]
    job_id: str
    queue: str


# arq's enqueue_job, as one script: skip a job id that is queued or still has a result, else
# store the job and add it to the queue. A script per job, all in one pipeline, is one round
# trip for a whole batch instead of three per job.
_ENQUEUE = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
_EXPIRES_MS = 86_400_000  # arq's default: a job not started within a day is dropped


async def enqueue_many(redis: ArqRedis, jobs: Sequence[JobSpec]) -> int:
    """Enqueue every job in one pipeline; returns how many were new (not already queued)."""
    if not jobs:
        return 0
    script = redis.register_script(_ENQUEUE)
    now_ms = timestamp_ms()
    async with redis.pipeline(transaction=False) as pipe:
        for job in jobs:
            payload = serialize_job(job.function, job.args, {}, None, now_ms)
            await script(
                keys=[job_key_prefix + job.job_id, result_key_prefix + job.job_id, job.queue],
                args=[_EXPIRES_MS, payload, now_ms, job.job_id],
                client=pipe,
            )
        results = await pipe.execute()
    return sum(int(r) for r in results)
