"""A platform whose clock tests can move forward (ADUAN_TIME_TRAVEL_ENABLED), on a database of
its own so the sweep never acts on other tests' complaints; and polling with a deadline."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.clock import set_offset
from services.settings import Settings
from tests.e2e.platform import Platform, isolated_settings

DEADLINE_SECONDS = 30


@contextlib.contextmanager
def time_travel_settings(settings: Settings, server_url: str, name: str) -> Iterator[Settings]:
    with isolated_settings(settings, server_url, name) as own:
        yield own.model_copy(update={"time_travel_enabled": True})


@contextlib.contextmanager
def time_travel_platform(settings: Settings, log_dir: Path) -> Iterator[Platform]:
    """Every process with time travel on and a sweep every second."""
    running = Platform(
        settings,
        log_dir,
        extra_env={
            "ADUAN_TIME_TRAVEL_ENABLED": "true",
            "ADUAN_SLA_SWEEP_INTERVAL_SECONDS": "1",
        },
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.require_database_url())
    try:
        yield engine
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def clock_control(settings: Settings) -> AsyncIterator[Redis]:
    """Redis, for `set_offset`; the platform's clock is back to real time afterwards."""
    client = Redis.from_url(settings.require_redis_url())
    try:
        yield client
    finally:
        await set_offset(settings, client, timedelta(0))
        await client.aclose()


async def eventually(probe: Any, what: str) -> Any:
    """Polls `probe()` until it returns something truthy, for at most DEADLINE_SECONDS."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {DEADLINE_SECONDS} s: {what}")
