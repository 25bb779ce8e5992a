"""Delivering: a real dispatcher over the real database signs per Standard Webhooks, POSTs to a
real receiver, retries, dead-letters, refuses private targets and cancels for deactivated
endpoints."""

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.responses import Response

from notifications.dispatcher import Dispatcher
from notifications.payloads import build_body
from services.embedded import free_port
from services.models import WebhookDelivery, WebhookEndpoint
from services.privacy import Audience
from services.runtime import Runtime
from tests.notifications.conftest import fast_config
from tests.notifications.helpers import (
    add_endpoint,
    add_event,
    claim,
    deliveries,
    delivery,
    fan_out,
    make_due,
    until,
)
from tests.receiver import Receiver


@pytest.fixture
def runtime(committed_runtime: Runtime) -> Runtime:
    """The dispatcher commits its own transactions: these tests run on committed data."""
    return committed_runtime


async def pending_delivery(
    runtime: Runtime, url: str, **event_data: Any
) -> tuple[WebhookEndpoint, WebhookDelivery]:
    endpoint = await add_endpoint(runtime, url)
    await fan_out(runtime, await add_event(runtime, **event_data))
    (created,) = await deliveries(runtime, endpoint_id=endpoint.id)
    return endpoint, created


async def settled(runtime: Runtime, delivery_id: Any, attempts: int = 1) -> WebhookDelivery:
    """The delivery once `attempts` attempts are recorded (or it is no longer pending)."""

    async def done() -> bool:
        found = await delivery(runtime, delivery_id)
        return found.attempts >= attempts or found.status != "pending"

    await until(done)
    return await delivery(runtime, delivery_id)


@pytest.fixture
async def dispatcher(runtime: Runtime) -> AsyncIterator[Dispatcher]:
    async with Dispatcher(runtime, fast_config(runtime.settings)) as running:
        yield running


async def test_a_delivery_is_signed_and_verifiable(
    runtime: Runtime, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    before = int(time.time())
    endpoint, pending = await pending_delivery(runtime, receiver.url)

    done = await settled(runtime, pending.id)

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
    assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 1, 204)
    assert done.delivered_at is not None and done.last_error is None
    assert done.lease_until is None


async def test_a_failing_receiver_is_retried_later_with_the_same_id(
    runtime: Runtime, receiver: Receiver
) -> None:
    receiver.script = [Response("database locked", status_code=500)]
    endpoint, pending = await pending_delivery(runtime, receiver.url)
    config = fast_config(runtime.settings, retry_delay=lambda attempts: 3600.0)

    async with Dispatcher(runtime, config):
        failed = await settled(runtime, pending.id)

        assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
        assert failed.last_error == "HTTP 500: database locked"
        assert failed.lease_until is None
        assert failed.next_attempt_at > datetime.now(UTC) + timedelta(minutes=50)
        assert await claim(runtime, config) == []  # not due: nobody may attempt it yet

        await make_due(runtime, pending.id)
        done = await settled(runtime, pending.id, attempts=2)

    assert (done.status, done.attempts, done.last_status_code) == ("succeeded", 2, 204)
    assert done.last_error is None
    first_request, second_request = receiver.received
    assert first_request.headers["webhook-id"] == second_request.headers["webhook-id"]
    assert first_request.body == second_request.body
    for request in receiver.received:
        Webhook(endpoint.secret).verify(request.body, request.headers)


async def test_dead_letter_after_the_last_attempt(runtime: Runtime, receiver: Receiver) -> None:
    receiver.default = 503
    _, pending = await pending_delivery(runtime, receiver.url)
    config = fast_config(runtime.settings, max_attempts=3)

    async with Dispatcher(runtime, config):
        dead = await settled(runtime, pending.id, attempts=3)

    assert (dead.status, dead.attempts, dead.last_status_code) == ("dead", 3, 503)
    assert dead.delivered_at is None
    assert len(receiver.received) == 3
    # A dead letter is never claimed again, however due it looks.
    await make_due(runtime, pending.id)
    assert await claim(runtime, config) == []


async def test_unreachable_receiver_is_recorded_not_raised(
    runtime: Runtime, dispatcher: Dispatcher
) -> None:
    _, pending = await pending_delivery(runtime, f"http://127.0.0.1:{free_port()}/hooks")

    failed = await settled(runtime, pending.id)

    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, None)
    assert failed.last_error is not None and "ClientConnectorError" in failed.last_error


async def test_slow_receiver_times_out(runtime: Runtime, receiver: Receiver) -> None:
    receiver.delay = 2.0
    _, pending = await pending_delivery(runtime, receiver.url)
    config = fast_config(runtime.settings, timeout_seconds=0.3)

    # The receiver would answer 204 after 2 s; the 0.3 s limit ends the attempt first.
    async with Dispatcher(runtime, config):
        failed = await settled(runtime, pending.id)

    assert failed.last_status_code is None and failed.attempts == 1
    assert failed.last_error is not None and "0.3 s" in failed.last_error


async def test_redirects_are_not_followed(
    runtime: Runtime, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    receiver.script = [
        Response(status_code=307, headers={"location": "http://169.254.169.254/latest/meta-data"})
    ]
    _, pending = await pending_delivery(runtime, receiver.url)

    failed = await settled(runtime, pending.id)

    assert failed.status == "pending" and failed.last_status_code == 307
    assert failed.last_error is not None and "redirects are not followed" in failed.last_error
    assert len(receiver.received) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_private_target_is_refused_at_delivery_time(
    runtime: Runtime, receiver: Receiver, host: str
) -> None:
    """An endpoint registered while private targets were allowed is not delivered to after."""
    _, pending = await pending_delivery(runtime, f"http://{host}:{receiver.port}/hooks")
    strict = fast_config(runtime.settings, allow_private_targets=False)

    async with Dispatcher(runtime, strict):
        failed = await settled(runtime, pending.id)

    assert receiver.received == []
    assert failed.status == "pending" and failed.last_status_code is None
    assert failed.last_error is not None and failed.last_error.startswith("target refused")


async def test_a_name_is_delivered_through_the_resolver_with_its_host_header(
    runtime: Runtime, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    _, pending = await pending_delivery(runtime, f"http://localhost:{receiver.port}/hooks")

    done = await settled(runtime, pending.id)

    assert done.status == "succeeded"
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"


async def test_deactivated_endpoint_is_not_delivered_to(
    runtime: Runtime, receiver: Receiver
) -> None:
    """Deactivation cancels pending deliveries in its own transaction; one that raced past it
    (fanned out just as the endpoint was deactivated) is cancelled by the dispatcher."""
    endpoint, pending = await pending_delivery(runtime, receiver.url)
    async with runtime.sessionmaker() as session:
        stored = await session.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        stored.active = False
        await session.commit()

    async with Dispatcher(runtime, fast_config(runtime.settings)):
        cancelled = await settled(runtime, pending.id)

    assert receiver.received == []
    assert (cancelled.status, cancelled.attempts) == ("cancelled", 0)


def test_body_is_the_standard_webhooks_shape() -> None:
    occurred = datetime(2026, 11, 20, 3, 4, 5, 123000, tzinfo=UTC)
    data = {"tracking_id": "ADN-7K3QX9P2", "status": "verified"}
    body = json.loads(
        build_body("complaint.verified", occurred, data, sequence=2, audience=Audience.other_agency)
    )

    assert (body["type"], body["timestamp"], body["sequence"]) == (
        "complaint.verified",
        "2026-11-20T03:04:05.123000Z",
        2,
    )
    assert body["data"]["tracking_id"] == "ADN-7K3QX9P2"
    assert body["data"]["status"] == "verified"
