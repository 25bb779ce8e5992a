"""arq queue helpers: one queue per consumer, namespaced by ADUAN_QUEUE_PREFIX."""

import random

from arq.connections import ArqRedis, RedisSettings
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
