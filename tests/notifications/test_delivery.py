"""Delivering: signed per Standard Webhooks to a real receiver, retried, dead-lettered."""

import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq import Retry
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.responses import Response

from notifications import domain
from notifications.worker import (
    HTTP_CLIENT,
    deliver_webhook,
    handle_event,
    new_http_client,
    sweep_deliveries,
)
from services.embedded import free_port
from services.models import WebhookDelivery, WebhookEndpoint
from services.runtime import Runtime
from tests.notifications.helpers import (
    add_endpoint,
    add_event,
    deliveries,
    delivery,
    make_due,
    queued_job_ids,
)
from tests.receiver import Receiver


@pytest.fixture
async def ctx(runtime: Runtime) -> AsyncIterator[dict[str, Any]]:
    async with new_http_client(runtime.settings) as client:
        yield {"runtime": runtime, HTTP_CLIENT: client}


async def pending_delivery(
    runtime: Runtime, url: str, **event_data: Any
) -> tuple[WebhookEndpoint, WebhookDelivery]:
    endpoint = await add_endpoint(runtime, url)
    event = await add_event(runtime, **event_data)
    await handle_event({"runtime": runtime}, event.model_dump(mode="json"))
    (created,) = await deliveries(runtime, endpoint_id=endpoint.id)
    return endpoint, created


async def test_delivery_is_signed_and_verifiable(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    endpoint, pending = await pending_delivery(runtime, receiver.url)
    before = int(time.time())

    result = await deliver_webhook(ctx, str(pending.id), 1)

    assert result == "succeeded"
    (request,) = receiver.received
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["type"] == "complaint.dispositioned"
    assert body["data"]["tracking_id"] == "ADN-7K3QX9P2"
    assert body["data"]["region_code"] == "11.01.01"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    assert request.headers["webhook-id"] == str(pending.event_id)
    assert before <= int(request.headers["webhook-timestamp"]) <= int(time.time())
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Aduan-Webhooks/0.1"
    # Signed with this endpoint's secret only.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(request.body, request.headers)
    tampered = request.body.replace(b"ADN-7K3QX9P2", b"ADN-00000000")
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(tampered, request.headers)
    done = await delivery(runtime, pending.id)
    assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 1, 204)
    assert done.delivered_at is not None and done.last_error is None
    # Only the first attempt's job (run by hand here) was ever queued: nothing more to do.
    prefix = runtime.settings.queue_prefix
    assert set(await queued_job_ids(runtime)) == {f"{prefix}:delivery:{pending.id}:1"}


async def test_a_failing_receiver_is_retried_later_with_the_same_id(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    receiver.script = [Response("database locked", status_code=500)]
    endpoint, pending = await pending_delivery(runtime, receiver.url)

    first = await deliver_webhook(ctx, str(pending.id), 1)

    failed = await delivery(runtime, pending.id)
    assert first == "retrying"
    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
    assert failed.last_error == "HTTP 500: database locked"
    now = datetime.now(UTC)
    assert now < failed.next_attempt_at <= now + timedelta(seconds=domain.RETRY_BASE_SECONDS)
    prefix = runtime.settings.queue_prefix
    jobs = await queued_job_ids(runtime)
    second_job = f"{prefix}:delivery:{pending.id}:2"
    assert set(jobs) == {f"{prefix}:delivery:{pending.id}:1", second_job}
    assert jobs[second_job] == pytest.approx(failed.next_attempt_at.timestamp(), abs=0.01)

    # The next attempt's job, run early, waits for its time instead of sending.
    with pytest.raises(Retry):
        await deliver_webhook(ctx, str(pending.id), 2)
    assert len(receiver.received) == 1

    await make_due(runtime, pending.id)
    second = await deliver_webhook(ctx, str(pending.id), 2)

    done = await delivery(runtime, pending.id)
    assert second == "succeeded"
    assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 2, 204)
    assert done.last_error is None
    first_request, second_request = receiver.received
    assert first_request.headers["webhook-id"] == second_request.headers["webhook-id"]
    assert first_request.body == second_request.body
    for request in receiver.received:
        Webhook(endpoint.secret).verify(request.body, request.headers)


async def test_dead_letter_after_the_last_attempt(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    ctx["runtime"] = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"webhook_max_attempts": 3})
    )
    receiver.default = 503
    _, pending = await pending_delivery(runtime, receiver.url)

    results = []
    for attempt in (1, 2, 3):
        await make_due(runtime, pending.id)
        results.append(await deliver_webhook(ctx, str(pending.id), attempt))

    dead = await delivery(runtime, pending.id)
    assert results == ["retrying", "retrying", "dead"]
    assert (dead.status, dead.attempts, dead.last_status_code) == ("dead", 3, 503)
    assert dead.delivered_at is None
    assert len(receiver.received) == 3
    assert not any(job.endswith(":4") for job in await queued_job_ids(runtime))
    # A dead letter is never sent again, whoever asks.
    await make_due(runtime, pending.id)
    assert await deliver_webhook(ctx, str(pending.id)) == "already dead"
    assert await sweep_deliveries(ctx) == 0
    assert len(receiver.received) == 3


async def test_unreachable_receiver_is_recorded_not_raised(
    ctx: dict[str, Any], runtime: Runtime
) -> None:
    _, pending = await pending_delivery(runtime, f"http://127.0.0.1:{free_port()}/hooks")

    assert await deliver_webhook(ctx, str(pending.id), 1) == "retrying"

    failed = await delivery(runtime, pending.id)
    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, None)
    assert failed.last_error is not None and "ConnectError" in failed.last_error


async def test_slow_receiver_times_out(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    ctx["runtime"] = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"webhook_timeout_seconds": 0.3})
    )
    receiver.delay = 2.0
    _, pending = await pending_delivery(runtime, receiver.url)

    # The receiver would answer 204 after 2 s; the 0.3 s limit ends the attempt first.
    assert await deliver_webhook(ctx, str(pending.id), 1) == "retrying"

    failed = await delivery(runtime, pending.id)
    assert failed.last_status_code is None and failed.attempts == 1
    assert failed.last_error is not None and "0.3 s" in failed.last_error


async def test_redirects_are_not_followed(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    receiver.script = [
        Response(status_code=307, headers={"location": "http://169.254.169.254/latest/meta-data"})
    ]
    _, pending = await pending_delivery(runtime, receiver.url)

    await deliver_webhook(ctx, str(pending.id), 1)

    failed = await delivery(runtime, pending.id)
    assert failed.status == "pending" and failed.last_status_code == 307
    assert failed.last_error is not None and "redirects are not followed" in failed.last_error
    assert len(receiver.received) == 1


async def test_private_target_is_refused_at_delivery_time(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    """An endpoint registered while private targets were allowed is not delivered to after."""
    _, pending = await pending_delivery(runtime, receiver.url)
    ctx["runtime"] = dataclasses.replace(
        runtime,
        settings=runtime.settings.model_copy(update={"webhook_allow_private_targets": False}),
    )

    assert await deliver_webhook(ctx, str(pending.id), 1) == "retrying"

    failed = await delivery(runtime, pending.id)
    assert receiver.received == []
    assert failed.last_error is not None and failed.last_error.startswith("target refused")


async def test_deactivated_endpoint_is_not_delivered_to(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    endpoint, pending = await pending_delivery(runtime, receiver.url)
    async with runtime.sessionmaker() as session:
        stored = await session.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        stored.active = False
        await session.commit()

    assert await deliver_webhook(ctx, str(pending.id), 1) == "cancelled"
    assert receiver.received == []
    assert (await delivery(runtime, pending.id)).status == "cancelled"


async def test_stale_and_unknown_jobs_do_nothing(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    receiver.script = [500]
    _, pending = await pending_delivery(runtime, receiver.url)
    await deliver_webhook(ctx, str(pending.id), 1)
    await make_due(runtime, pending.id)

    # A second run of attempt 1's job (arq is at-least-once) must not make attempt 2.
    assert await deliver_webhook(ctx, str(pending.id), 1) == "stale job"
    assert await deliver_webhook(ctx, str(uuid.uuid4()), 1) == "missing"
    assert len(receiver.received) == 1
    assert (await delivery(runtime, pending.id)).attempts == 1


async def test_sweeper_requeues_due_deliveries_whose_job_was_lost(
    ctx: dict[str, Any], runtime: Runtime, receiver: Receiver
) -> None:
    _, pending = await pending_delivery(runtime, receiver.url)
    not_yet = await add_event(runtime)
    await handle_event(ctx, not_yet.model_dump(mode="json"))
    later = next(d for d in await deliveries(runtime) if d.event_id == not_yet.id)
    async with runtime.sessionmaker() as session:
        stored = await session.get(WebhookDelivery, later.id)
        assert stored is not None
        stored.next_attempt_at = datetime.now(UTC) + timedelta(minutes=5)
        await session.commit()
    prefix = runtime.settings.queue_prefix
    # Redis lost the first-attempt jobs.
    await runtime.redis.delete(f"{prefix}:notifications")
    for job_id in (f"{prefix}:delivery:{pending.id}:1", f"{prefix}:delivery:{later.id}:1"):
        await runtime.redis.delete(f"arq:job:{job_id}")

    assert await sweep_deliveries(ctx) == 1
    assert await sweep_deliveries(ctx) == 0  # the job is there now: same id, no duplicate

    assert set(await queued_job_ids(runtime)) == {f"{prefix}:delivery:{pending.id}:1"}


def test_body_is_the_standard_webhooks_shape() -> None:
    from notifications.signing import webhook_body

    occurred = datetime(2026, 11, 20, 3, 4, 5, 123000, tzinfo=UTC)
    body = json.loads(webhook_body("complaint.verified", occurred, {"status": "verified"}))

    assert body == {
        "type": "complaint.verified",
        "timestamp": "2026-11-20T03:04:05.123000Z",
        "data": {"status": "verified"},
    }
