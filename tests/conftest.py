"""Shared fixtures: a real PostgreSQL database built by `alembic upgrade head`, a real Redis.

ADUAN_DATABASE_URL / ADUAN_REDIS_URL point at servers to use; unset, embedded ones are started
under var/test. Each run gets its own database and queue prefix, so runs never see each other.
"""

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from services.cli import infrastructure
from services.db import SessionMaker
from services.events.outbox import Publisher
from services.principal import ANONYMOUS, Principal
from services.queue import create_arq_redis
from services.runtime import Runtime
from services.settings import Settings
from tests.databases import rolled_back, savepoint_sessionmaker, scratch_database
from tests.signing import VERIFY_KEYS, SignedIdentity

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "test-admin-key-" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """(server database URL, Redis URL): the configured ones or embedded ones."""
    base = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=os.environ.get("ADUAN_DATABASE_URL") or None,
        redis_url=os.environ.get("ADUAN_REDIS_URL") or None,
        var_dir=ROOT / "var" / "test",
    )
    with infrastructure(base) as urls:
        yield urls


@pytest.fixture(scope="session")
def database_url(servers: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this run, migrated by Alembic and seeded."""
    with scratch_database(servers[0], "aduan_test") as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, servers: tuple[str, str]) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=servers[1],
        admin_api_key=ADMIN_KEY,
        # A service's view: the gateway's public key only (tests.signing holds the private one).
        internal_verify_keys=VERIFY_KEYS,
        queue_prefix=f"aduantest{os.getpid()}{secrets.token_hex(3)}",
        webhook_allow_private_targets=True,
        relay_grace_seconds=0,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.require_database_url())
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection per test inside a transaction that is rolled back afterwards."""
    async with rolled_back(engine) as conn:
        yield conn


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> SessionMaker:
    return savepoint_sessionmaker(connection)


@pytest.fixture
async def session(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def runtime(
    settings: Settings, engine: AsyncEngine, sessionmaker: SessionMaker
) -> AsyncIterator[Runtime]:
    # A queue namespace of its own: the e2e platform's workers (same database, the session's
    # prefix) must not take this test's jobs.
    settings = settings.model_copy(
        update={"queue_prefix": f"{settings.queue_prefix}u{secrets.token_hex(3)}"}
    )
    redis = create_arq_redis(settings)
    # The test's sessions share one connection: published marks wait for close().
    publisher = Publisher(settings, redis, sessionmaker, mark_in_background=False)
    yield Runtime(settings, engine, sessionmaker, redis, publisher)
    await publisher.close()  # its batched published marks, while the test's connection is open
    await redis.aclose()


def identity_auth(principal: Principal = ANONYMOUS) -> SignedIdentity:
    """Signs each request of a client as the gateway would for `principal`."""
    return SignedIdentity(principal)


def service_client(
    app: FastAPI, runtime: Runtime, principal: Principal = ANONYMOUS
) -> httpx.AsyncClient:
    """An in-process client of one service, as if called by the gateway for `principal`."""
    app.state.runtime = runtime
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://service.test",
        auth=identity_auth(principal),
    )


def complaint_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "report_type": "pengaduan",
        "title": "Jalan berlubang di depan Pasar Bakongan",
        "description": "Jalan utama di depan pasar berlubang besar sejak dua bulan dan "
        "membahayakan pengendara motor.",
        "category": "infrastruktur",
        "region_code": "11.01.01",
        "occurred_on": "2026-11-20",
        "reporter": {"name": "Siti", "email": "siti@example.id", "phone": "+6281234567890"},
        "anonymous": False,
        "confidential": False,
    }
    payload.update(overrides)
    return payload
