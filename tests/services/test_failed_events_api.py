"""Admins list the events a consumer failed on and publish them again."""

from collections.abc import AsyncIterator

import httpx
import pytest
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncSession

from routing.main import create_app
from services.events.failures import FailureRepository, FailureStatus
from services.models import Event, EventFailure
from services.principal import Principal, PrincipalKind, Role
from services.queue import queue_name
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_complaint, add_event

ADMIN = Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="admin")


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime, ADMIN) as client:
        yield client


@pytest.fixture
async def stranger(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


async def failed_event(session: AsyncSession) -> Event:
    event = await add_event(session, complaint=await add_complaint(session), age_seconds=600)
    await FailureRepository(session).record(
        "routing", event.id, FailureStatus.failed, "IntegrityError('duplicate key')"
    )
    await FailureRepository(session).settle([event.id], event.occurred_at)
    await session.commit()
    return event


async def test_a_failed_event_is_listed_with_its_error(
    admin: httpx.AsyncClient, session: AsyncSession
) -> None:
    event = await failed_event(session)

    response = await admin.get("/api/v1/ops/failed-events", params={"status": "failed"})

    assert response.status_code == 200
    listed = {item["event_id"]: item for item in response.json()["items"]}
    item = listed[str(event.id)]
    assert item["consumer"] == "routing"
    assert item["event_type"] == "complaint.submitted"
    assert item["complaint_id"] == str(event.complaint_id)
    assert "duplicate key" in item["last_error"]


async def test_a_retry_publishes_the_event_again_and_reopens_it(
    admin: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    event = await failed_event(session)

    response = await admin.post(f"/api/v1/ops/failed-events/routing/{event.id}/retry")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "retrying"
    assert response.json()["admin_retries"] == 1
    job_id = f"{runtime.settings.queue_prefix}:routing:{event.id}:a1"
    queue = queue_name(runtime.settings, "routing")
    assert await Job(job_id, runtime.redis, _queue_name=queue).status() != JobStatus.not_found
    refreshed = await session.get(Event, event.id, populate_existing=True)
    assert refreshed is not None and refreshed.settled_at is None
    failure = await session.get(EventFailure, ("routing", event.id), populate_existing=True)
    assert failure is not None and failure.status == FailureStatus.retrying


async def test_retrying_an_unknown_failure_is_404(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/api/v1/ops/failed-events/routing/019ac7a4-3b9e-7c11-8d2f-5e0a1b2c3d4e/retry"
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_failed_events_are_for_admins_only(stranger: httpx.AsyncClient) -> None:
    response = await stranger.get("/api/v1/ops/failed-events")

    assert response.status_code == 401
