"""The real arq worker over the real Redis, with its real startup (its own runtime and its
dispatcher): from a recorded event to a verified webhook."""

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from arq.jobs import Job
from arq.worker import Worker, get_kwargs
from standardwebhooks import Webhook

from notifications.worker import DISPATCHER, shutdown, startup, worker_settings
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.events.outbox import record_event
from services.queue import queue_name
from services.runtime import Runtime
from services.settings import get_settings
from services.uow import unit_of_work
from tests.notifications.conftest import served
from tests.notifications.helpers import ROUTING, deliveries, until
from tests.receiver import Receiver

ENDPOINTS = "/api/v1/webhooks/endpoints"


@pytest.fixture
def settings_class(committed_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """The WorkerSettings `aduan worker notifications` runs, built from this test's settings."""
    settings = committed_runtime.settings
    assert settings.redis_url is not None and settings.database_url is not None
    monkeypatch.setenv("ADUAN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ADUAN_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("ADUAN_QUEUE_PREFIX", settings.queue_prefix)
    monkeypatch.setenv("ADUAN_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    get_settings.cache_clear()
    try:
        yield worker_settings()
    finally:
        get_settings.cache_clear()


def configured_worker(settings_class: type) -> Worker:
    """The worker `aduan worker notifications` runs, its own hooks included."""
    kwargs: dict[str, Any] = get_kwargs(settings_class)
    kwargs |= {"poll_delay": 0.05, "handle_signals": False, "cron_jobs": []}
    return Worker(**kwargs)


async def result_of(job: Job) -> Any:
    """The job's result once it has one (the webhook may arrive before the job's end)."""

    async def finished() -> bool:
        return await job.result_info() is not None

    await until(finished)
    info = await job.result_info()
    assert info is not None
    return info.result


def test_worker_settings_consume_the_notifications_queue(settings_class: type) -> None:
    settings = get_settings()
    names = {f.__name__ for f in settings_class.functions}  # type: ignore[attr-defined]
    crons = {c.name for c in settings_class.cron_jobs}  # type: ignore[attr-defined]

    assert names == {"handle_event"}
    assert f"{settings.queue_prefix}:relay_outbox" in crons
    assert not [c for c in crons if "sweep" in c]  # no sweeper: the dispatcher's claim is one
    assert settings_class.queue_name == queue_name(settings, "notifications")  # type: ignore[attr-defined]
    assert settings_class.on_startup is startup  # type: ignore[attr-defined]
    assert settings_class.on_shutdown is shutdown  # type: ignore[attr-defined]


async def test_event_to_verified_webhook_through_the_running_worker(
    committed_runtime: Runtime, settings_class: type, receiver: Receiver
) -> None:
    runtime = committed_runtime
    settings = runtime.settings
    async with served(settings) as api:
        registered = await api.post(
            ENDPOINTS,
            json={
                "url": receiver.url,
                "description": "Sistem pengaduan Pemerintah Aceh",
                "region_codes": ["11"],
                "event_types": ["complaint.dispositioned"],
            },
        )
        assert registered.status_code == 201, registered.text
        endpoint = registered.json()
    worker = configured_worker(settings_class)
    running = asyncio.create_task(worker.main())
    try:
        # Two routing jobs record an event each; the fast path queues each after its commit.
        async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
            aceh = record_event(
                session,
                EventType.complaint_dispositioned,
                actor=ROUTING,
                data={
                    "tracking_id": "ADN-AC3H0001",
                    "region_code": "11.01.01",
                    "status": "dispositioned",
                },
            )
        async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
            jabar = record_event(
                session,
                EventType.complaint_dispositioned,
                actor=ROUTING,
                data={
                    "tracking_id": "ADN-JABAR001",
                    "region_code": "32.73",
                    "status": "dispositioned",
                },
            )
        # arq is at-least-once: the same event arrives a second time under another job id.
        duplicate_job = f"{settings.queue_prefix}:again:{aceh.id}"
        await runtime.redis.enqueue_job(
            "handle_event",
            EventEnvelope.of(aceh).model_dump(mode="json"),
            _job_id=duplicate_job,
            _queue_name=queue_name(settings, "notifications"),
        )
        (request,) = await receiver.wait_for(1)
        jobs = {
            job_id: Job(job_id, runtime.redis)
            for job_id in (
                f"{settings.queue_prefix}:notifications:{aceh.id}",
                duplicate_job,
                f"{settings.queue_prefix}:notifications:{jabar.id}",
            )
        }
        results = {job_id: await result_of(job) for job_id, job in jobs.items()}

        async def recorded() -> bool:
            return [d.status for d in await deliveries(runtime)] == ["succeeded"]

        await until(recorded)
        (done,) = await deliveries(runtime)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()

    assert DISPATCHER not in worker.ctx  # stopped with the worker
    body = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == str(aceh.id)
    assert body["data"]["tracking_id"] == "ADN-AC3H0001"
    assert sorted(list(results.values())[:2]) == ["duplicate", "processed"]
    assert list(results.values())[2] == "processed"  # Jabar's event: no endpoint in scope
    assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 1, 204)
    assert done.event_id == aceh.id
    async with served(settings) as api:
        history = (await api.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in history] == [
        ("succeeded", 1, 204)
    ]
