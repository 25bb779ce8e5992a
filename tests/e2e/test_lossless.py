"""Nothing published is lost: real processes, real arq, real faults between the routing worker
and PostgreSQL. A job that exhausts its tries, one that times out, and one whose Redis key is
deleted all end with the complaint dispositioned, through the reconciler; one that keeps failing
is listed for admins and retried through the API."""

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.jobs import Job, JobResult
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import create_engine
from services.models import Event, EventFailure
from services.queue import create_arq_redis, queue_name
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.databases import scratch_database
from tests.e2e.dbproxy import DatabaseProxy, Mode, database_proxy
from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e
RECONCILE_AFTER = 4  # seconds


@pytest.fixture(scope="module")
def chaos_settings(settings: Settings, servers: tuple[str, str]) -> Iterator[Settings]:
    """A database of its own: another platform's reconciler must not touch these events."""
    with scratch_database(servers[0], "aduan_chaos") as url:
        yield settings.model_copy(
            update={
                "database_url": url,
                "queue_prefix": f"chaos{os.getpid()}{secrets.token_hex(3)}",
            }
        )


@pytest.fixture(scope="module")
def proxy(chaos_settings: Settings) -> Iterator[DatabaseProxy]:
    with database_proxy(chaos_settings.require_database_url()) as running:
        yield running


@pytest.fixture(scope="module")
def chaos(
    chaos_settings: Settings, proxy: DatabaseProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    log_dir: Path = tmp_path_factory.mktemp("chaos-logs")
    running = Platform(
        chaos_settings,
        log_dir,
        extra_env={
            "ADUAN_JOB_MAX_TRIES": "2",
            "ADUAN_JOB_TIMEOUT_SECONDS": "2",
            "ADUAN_RECONCILE_AFTER_SECONDS": str(RECONCILE_AFTER),
            "ADUAN_RECONCILE_INTERVAL_SECONDS": "1",
            "ADUAN_RECONCILE_MAX_REPUBLISHES": "1",
        },
        # Only the routing worker reaches PostgreSQL through the breakable proxy.
        process_env={"routing-worker": {"ADUAN_DATABASE_URL": proxy.url}},
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def engine(chaos_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(chaos_settings, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def gateway(chaos: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=chaos.gateway, timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def healed(proxy: DatabaseProxy) -> Iterator[None]:
    yield
    proxy.set_mode(Mode.pass_through)


def admin(settings: Settings) -> dict[str, str]:
    assert settings.admin_api_key is not None
    return {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"}


async def file_complaint(gateway: httpx.AsyncClient) -> str:
    created = await gateway.post("/api/v1/complaints", json=complaint_payload())
    assert created.status_code == 201, created.text
    tracking_id: str = created.json()["tracking_id"]
    return tracking_id


async def submitted_event(engine: AsyncEngine, tracking_id: str) -> uuid.UUID:
    async with engine.connect() as conn:
        event_id = await conn.scalar(
            select(Event.id).where(
                Event.type == "complaint.submitted", Event.data["tracking_id"].astext == tracking_id
            )
        )
    assert event_id is not None
    return event_id


async def routing_job_result(settings: Settings, event_id: uuid.UUID) -> JobResult:
    """Wait until arq has finished the routing job of this event, and return its result."""
    redis = create_arq_redis(settings)
    job = Job(
        f"{settings.queue_prefix}:routing:{event_id}",
        redis,
        _queue_name=queue_name(settings, "routing"),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            info = await job.result_info()
            if info is not None:
                return info
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()
    raise AssertionError(f"the routing job of {event_id} never finished")


async def wait_for_status(
    gateway: httpx.AsyncClient, tracking_id: str, status: str, within: float = 40
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = (await gateway.get(f"/api/v1/complaints/{tracking_id}")).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.3)
    raise AssertionError(f"still {body.get('status')} after {within} s")


async def failure_of(engine: AsyncEngine, event_id: uuid.UUID) -> EventFailure | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(EventFailure).where(
                    EventFailure.consumer == "routing", EventFailure.event_id == event_id
                )
            )
        ).first()
    return EventFailure(**row._asdict()) if row is not None else None


async def assert_reconciled(engine: AsyncEngine, event_id: uuid.UUID) -> None:
    """The reconciler republished the event, and (on a later pass) saw it processed."""
    deadline = time.monotonic() + 3 * RECONCILE_AFTER + 10
    failure = await failure_of(engine, event_id)
    while time.monotonic() < deadline and (failure is None or failure.status != "resolved"):
        await asyncio.sleep(0.5)
        failure = await failure_of(engine, event_id)
    assert failure is not None, "the reconciler never saw this event as missing"
    assert failure.status == "resolved"
    assert failure.republished >= 1


async def test_a_job_that_exhausts_its_tries_is_republished_and_the_complaint_dispositioned(
    gateway: httpx.AsyncClient, proxy: DatabaseProxy, engine: AsyncEngine, chaos_settings: Settings
) -> None:
    proxy.set_mode(Mode.refuse)
    tracking_id = await file_complaint(gateway)
    event_id = await submitted_event(engine, tracking_id)

    result = await routing_job_result(chaos_settings, event_id)
    assert not result.success  # arq gave up on it: 2 tries, both refused by the database
    proxy.set_mode(Mode.pass_through)

    await wait_for_status(gateway, tracking_id, "dispositioned")
    await assert_reconciled(engine, event_id)


async def test_a_job_that_times_out_is_republished_and_the_complaint_dispositioned(
    gateway: httpx.AsyncClient, proxy: DatabaseProxy, engine: AsyncEngine, chaos_settings: Settings
) -> None:
    proxy.set_mode(Mode.stall)
    tracking_id = await file_complaint(gateway)
    event_id = await submitted_event(engine, tracking_id)

    result = await routing_job_result(chaos_settings, event_id)
    assert not result.success
    assert isinstance(result.result, TimeoutError | asyncio.TimeoutError)
    proxy.set_mode(Mode.pass_through)

    await wait_for_status(gateway, tracking_id, "dispositioned")
    await assert_reconciled(engine, event_id)


async def test_a_job_whose_redis_key_was_deleted_is_republished_and_the_complaint_dispositioned(
    gateway: httpx.AsyncClient, chaos: Platform, engine: AsyncEngine, chaos_settings: Settings
) -> None:
    chaos.stop_process("routing-worker")
    try:
        tracking_id = await file_complaint(gateway)
        event_id = await submitted_event(engine, tracking_id)
        job_id = f"{chaos_settings.queue_prefix}:routing:{event_id}"
        redis = create_arq_redis(chaos_settings)
        try:
            assert await redis.delete(f"arq:job:{job_id}") == 1  # Redis lost it
            await redis.zrem(queue_name(chaos_settings, "routing"), job_id)
        finally:
            await redis.aclose()
    finally:
        chaos.start_worker("routing")

    await wait_for_status(gateway, tracking_id, "dispositioned")
    await assert_reconciled(engine, event_id)


async def test_an_event_that_keeps_failing_is_listed_then_retried_by_an_admin(
    gateway: httpx.AsyncClient, proxy: DatabaseProxy, engine: AsyncEngine, chaos_settings: Settings
) -> None:
    proxy.set_mode(Mode.refuse)
    tracking_id = await file_complaint(gateway)
    event_id = await submitted_event(engine, tracking_id)

    deadline = time.monotonic() + 45
    listed: dict[str, Any] | None = None
    while listed is None and time.monotonic() < deadline:
        page = await gateway.get(
            "/api/v1/ops/failed-events", params={"status": "failed"}, headers=admin(chaos_settings)
        )
        assert page.status_code == 200, page.text
        listed = next((i for i in page.json()["items"] if i["event_id"] == str(event_id)), None)
        await asyncio.sleep(0.5)
    assert listed is not None, "the event was never listed as failed"
    assert listed["consumer"] == "routing"
    assert (await gateway.get(f"/api/v1/complaints/{tracking_id}")).json()["status"] == "submitted"
    proxy.set_mode(Mode.pass_through)

    retried = await gateway.post(
        f"/api/v1/ops/failed-events/routing/{event_id}/retry", headers=admin(chaos_settings)
    )

    assert retried.status_code == 200, retried.text
    await wait_for_status(gateway, tracking_id, "dispositioned")
