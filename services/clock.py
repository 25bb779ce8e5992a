"""The platform's clock: real time, plus an offset tests can move (time travel).

Deadlines are compared with `now(...)`. When the setting `time_travel_enabled` is true
(development and tests only: never in production) the offset, in seconds, is read from the
Redis key `<queue_prefix>:clock:offset_seconds`; otherwise it is zero and Redis is not asked.
Readers that need it often (the SLA sweep) read the offset once per run."""

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.settings import Settings


def offset_key(settings: Settings) -> str:
    return f"{settings.queue_prefix}:clock:offset_seconds"


async def read_offset(settings: Settings, redis: Redis) -> timedelta:
    """How far the platform's clock is ahead of real time (zero unless time travel is on)."""
    if not settings.time_travel_enabled:
        return timedelta(0)
    raw = await redis.get(offset_key(settings))
    return timedelta(seconds=float(raw)) if raw else timedelta(0)


async def now(settings: Settings, redis: Redis) -> datetime:
    """The platform's current time (UTC)."""
    return datetime.now(UTC) + await read_offset(settings, redis)


async def set_offset(settings: Settings, redis: Redis, offset: timedelta) -> None:
    """Move the platform's clock (tests): every process with time travel on follows."""
    await redis.set(offset_key(settings), str(offset.total_seconds()))
