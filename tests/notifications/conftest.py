"""Fixtures of the notifications tests: a scratch database of their own (migrated by Alembic,
seeded), a queue namespace per test on the real Redis, and a real webhook receiver on loopback.

The database is separate from the shared one because the end-to-end platform's notifications
worker (its dispatcher) claims due deliveries there and would deliver these tests' rows itself.
"""

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from notifications.config import DispatchConfig
from notifications.main import create_app
from services.db import create_sessionmaker
from services.events.outbox import Publisher
from services.principal import Principal, PrincipalKind, Role
from services.queue import create_arq_redis
from services.runtime import Runtime
from services.settings import Settings
from tests.databases import rolled_back, savepoint_sessionmaker, scratch_database
from tests.receiver import Receiver, running_receiver
from tests.signing import VERIFY_KEYS, SignedIdentity

ADMIN = Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="ops")
# CASCADE: the kernel tables that point at events or complaints (failures, assignments) too.
OWN_TABLES = (
    "webhook_attempts, webhook_deliveries, webhook_endpoints, processed_events, events, complaints"
)


@pytest.fixture(scope="session")
def notif_database(servers: tuple[str, str]) -> Iterator[str]:
    with scratch_database(servers[0], "notif_test") as url:
        yield url


@pytest.fixture
def notif_settings(notif_database: str, servers: tuple[str, str]) -> Settings:
    """Per test: its own queue namespace, so no test sees another's jobs."""
    return Settings(
        _env_file=None,
        database_url=notif_database,
        redis_url=servers[1],
        internal_verify_keys=VERIFY_KEYS,
        queue_prefix=f"notiftest{os.getpid()}{secrets.token_hex(4)}",
        webhook_allow_private_targets=True,
        webhook_timeout_seconds=5.0,
    )


@pytest.fixture(scope="session")
async def notif_engine(notif_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(notif_database)
    yield engine
    await engine.dispose()


@pytest.fixture
async def redis(notif_settings: Settings) -> AsyncIterator[ArqRedis]:
    redis = create_arq_redis(notif_settings)
    yield redis
    keys = [key async for key in redis.scan_iter(match=f"*{notif_settings.queue_prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose(close_connection_pool=True)


@pytest.fixture
async def db(notif_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection per test inside a transaction rolled back afterwards."""
    async with rolled_back(notif_engine) as conn:
        yield conn


@pytest.fixture
def runtime(
    notif_settings: Settings, notif_engine: AsyncEngine, db: AsyncConnection, redis: ArqRedis
) -> Runtime:
    """The runtime of a service or worker, on the rolled-back test transaction: the code's
    commits become savepoints."""
    maker = savepoint_sessionmaker(db)
    publisher = Publisher(notif_settings, redis, maker, mark_in_background=False)
    return Runtime(notif_settings, notif_engine, maker, redis, publisher)


@pytest.fixture
async def committed_runtime(
    notif_settings: Settings, notif_engine: AsyncEngine, redis: ArqRedis
) -> AsyncIterator[Runtime]:
    """A runtime whose commits are real, for concurrent workers; the tables are emptied around."""

    async def truncate() -> None:
        async with notif_engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {OWN_TABLES} CASCADE"))

    await truncate()
    maker = create_sessionmaker(notif_engine)
    yield Runtime(
        notif_settings, notif_engine, maker, redis, Publisher(notif_settings, redis, maker)
    )
    await truncate()


def identity(principal: Principal = ADMIN) -> SignedIdentity:
    """Signs each request as the gateway would for `principal`."""
    return SignedIdentity(principal)


def api_client(
    app: FastAPI, runtime: Runtime, principal: Principal | None = ADMIN
) -> httpx.AsyncClient:
    """In-process client of the service, as the gateway calls it for `principal` (None: no
    identity header at all, as a request that bypassed the gateway)."""
    app.state.runtime = runtime
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifications.test",
        auth=identity(principal) if principal else None,
    )


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(runtime.settings), runtime) as client:
        yield client


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The service app with its own lifespan (its own engine and Redis), as it runs deployed."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://notifications.test",
            auth=identity(),
        ) as client,
    ):
        yield client


def fast_config(settings: Settings, **overrides: Any) -> DispatchConfig:
    """A dispatcher configuration for tests: quick polls and retries, overridable per test."""
    values: dict[str, Any] = {"poll_seconds": 0.05, "retry_delay": lambda attempts: 0.05}
    return DispatchConfig.from_settings(settings, **(values | overrides))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running
