"""The real arq worker over the real Redis: from a recorded event to a verified webhook."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from arq.jobs import Job
from arq.worker import Worker, get_kwargs
from standardwebhooks import Webhook

from notifications import domain
from notifications.worker import (
    HTTP_CLIENT,
    handle_event,
    new_http_client,
    shutdown,
    startup,
    worker_settings,
)
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.events.outbox import record_event
from services.queue import queue_name
from services.runtime import Runtime
from services.settings import get_settings
from services.uow import unit_of_work
from services.worker import Ctx
from tests.notifications.conftest import served
from tests.notifications.helpers import ROUTING, deliveries
from tests.receiver import Receiver

ENDPOINTS = "/api/v1/webhooks/endpoints"


@pytest.fixture
def settings_class(committed_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """The WorkerSettings `aduan worker notifications` runs, built from this test's settings."""
    settings = committed_runtime.settings
    assert settings.redis_url is not None
    monkeypatch.setenv("ADUAN_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("ADUAN_QUEUE_PREFIX", settings.queue_prefix)
    get_settings.cache_clear()
    try:
        yield worker_settings()
    finally:
        get_settings.cache_clear()


def burst_worker(settings_class: type, runtime: Runtime, *, crons: bool) -> Worker:
    """The configured worker, run until its queue is empty, on the test's runtime."""

    async def on_startup(ctx: Ctx) -> None:
        ctx["runtime"] = runtime
        ctx[HTTP_CLIENT] = new_http_client(runtime.settings)

    async def on_shutdown(ctx: Ctx) -> None:
        await ctx.pop(HTTP_CLIENT).aclose()

    kwargs: dict[str, Any] = get_kwargs(settings_class)
    kwargs |= {
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "burst": True,
        "poll_delay": 0.05,
        "handle_signals": False,
    }
    if not crons:
        kwargs["cron_jobs"] = []
    else:  # only the sweeper: the relay is the kernel's, tested there
        kwargs["cron_jobs"] = [c for c in kwargs["cron_jobs"] if "sweep_deliveries" in c.name]
    return Worker(**kwargs)


async def run(worker: Worker) -> None:
    try:
        await asyncio.wait_for(worker.main(), timeout=30)
    finally:
        await worker.close()


def test_worker_settings_consume_the_notifications_queue(settings_class: type) -> None:
    settings = get_settings()
    names = {f.__name__ for f in settings_class.functions}  # type: ignore[attr-defined]
    crons = {c.name for c in settings_class.cron_jobs}  # type: ignore[attr-defined]

    assert names == {"handle_event", "deliver_webhook"}
    assert f"{settings.queue_prefix}:sweep_deliveries" in crons
    assert settings_class.queue_name == queue_name(settings, "notifications")  # type: ignore[attr-defined]
    assert settings_class.on_startup is startup  # type: ignore[attr-defined]
    assert settings_class.on_shutdown is shutdown  # type: ignore[attr-defined]


async def test_event_to_verified_webhook_with_a_retry(
    committed_runtime: Runtime,
    settings_class: type,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(domain, "RETRY_BASE_SECONDS", 0.4)
    monkeypatch.setattr(domain, "RETRY_FLOOR_SECONDS", 0.2)
    runtime = committed_runtime
    settings = runtime.settings
    receiver.script = [503]  # the receiver is briefly down
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

    # Routing records the events in its transaction; the fast path queues them after commit.
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
        jabar = record_event(
            session,
            EventType.complaint_dispositioned,
            actor=ROUTING,
            data={"tracking_id": "ADN-JABAR001", "region_code": "32.73", "status": "dispositioned"},
        )
    # arq is at-least-once: the same event arrives a second time under another job id.
    duplicate_job = f"{settings.queue_prefix}:again:{aceh.id}"
    await runtime.redis.enqueue_job(
        "handle_event",
        EventEnvelope.of(aceh).model_dump(mode="json"),
        _job_id=duplicate_job,
        _queue_name=queue_name(settings, "notifications"),
    )

    await run(burst_worker(settings_class, runtime, crons=False))

    assert len(receiver.received) == 2, "one failed attempt, one retry"
    webhook = Webhook(endpoint["secret"])
    bodies = [webhook.verify(r.body, r.headers) for r in receiver.received]
    assert {r.headers["webhook-id"] for r in receiver.received} == {str(aceh.id)}
    assert [b["data"]["tracking_id"] for b in bodies] == ["ADN-AC3H0001"] * 2
    (done,) = await deliveries(runtime)
    assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 2, 204)
    assert done.event_id == aceh.id
    results = [
        await Job(job_id, runtime.redis).result()
        for job_id in (f"{settings.queue_prefix}:notifications:{aceh.id}", duplicate_job)
    ]
    assert sorted(results) == ["duplicate", "processed"]
    assert await Job(
        f"{settings.queue_prefix}:notifications:{jabar.id}", runtime.redis
    ).result() == ("processed")
    async with served(settings) as api:
        history = (await api.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in history] == [
        ("succeeded", 2, 204)
    ]


async def test_sweeper_delivers_what_redis_lost(
    committed_runtime: Runtime, settings_class: type, receiver: Receiver
) -> None:
    """Redis was down when the deliveries were created: the sweeper's cron picks them up."""
    runtime = committed_runtime
    async with served(runtime.settings) as api:
        secret = (await api.post(ENDPOINTS, json={"url": receiver.url})).json()["secret"]
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
        event = record_event(
            session, EventType.complaint_verified, actor=ROUTING, data={"region_code": "51.71"}
        )
    envelope_job = f"{runtime.settings.queue_prefix}:notifications:{event.id}"
    broken = Runtime(
        runtime.settings,
        runtime.engine,
        runtime.sessionmaker,
        _UnreachableRedis(),  # type: ignore[arg-type]
        runtime.publisher,
    )
    # The event is handled while Redis refuses every enqueue; the rows are still committed.
    await runtime.redis.delete(
        queue_name(runtime.settings, "notifications"), f"arq:job:{envelope_job}"
    )
    assert (
        await handle_event({"runtime": broken}, EventEnvelope.of(event).model_dump(mode="json"))
        == "processed"
    )
    assert [d.status for d in await deliveries(runtime)] == ["pending"]

    await run(burst_worker(settings_class, runtime, crons=True))

    (request,) = receiver.received
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "complaint.verified"
    assert [d.status for d in await deliveries(runtime)] == ["succeeded"]


class _UnreachableRedis:
    async def enqueue_job(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis is down")
