"""The delivery policy against a real receiver on loopback (issue 9, acceptance 1 and 2):
Standard Webhooks signatures (also while a secret rotates), the retry schedule, Retry-After,
410, dead letters and the events they raise, endpoints disabled after days of failures."""

import dataclasses
import itertools
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, update
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.responses import Response

from notifications.config import DispatchConfig
from notifications.dispatcher import Dispatcher
from notifications.main import create_app
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.models import WebhookEndpoint
from services.runtime import Runtime
from services.settings import Settings
from tests.notifications.conftest import api_client
from tests.notifications.helpers import (
    add_endpoint,
    add_event,
    attempts_of,
    deliveries,
    delivery,
    endpoint_row,
    events_of_type,
    fan_out,
    until,
)
from tests.receiver import Receiver

ENDPOINTS = "/api/v1/webhooks/endpoints"


@pytest.fixture
def runtime(committed_runtime: Runtime) -> Runtime:
    """With ADUAN_WEBHOOK_RETRY_SCHEDULE=1,1,1 (four attempts, a second apart)."""
    settings = committed_runtime.settings.model_copy(update={"webhook_retry_schedule": [1, 1, 1]})
    return dataclasses.replace(committed_runtime, settings=settings)


def config(runtime: Runtime) -> DispatchConfig:
    return DispatchConfig.from_settings(runtime.settings, poll_seconds=0.05)


async def finished(runtime: Runtime, delivery_id: uuid.UUID) -> None:
    async def done() -> bool:
        return (await delivery(runtime, delivery_id)).status != "pending"

    await until(done)


async def one_delivery(runtime: Runtime, endpoint_id: uuid.UUID) -> uuid.UUID:
    await fan_out(runtime, await add_event(runtime))
    (created,) = await deliveries(runtime, endpoint_id=endpoint_id)
    return created.id


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


async def test_signatures_verify_with_standardwebhooks_also_while_the_secret_rotates(
    runtime: Runtime, receiver: Receiver
) -> None:
    async with api_client(create_app(runtime.settings), runtime) as client:
        created = (await client.post(ENDPOINTS, json={"url": receiver.url})).json()
        old_secret = created["secret"]
        async with Dispatcher(runtime, config(runtime)):
            await fan_out(runtime, await add_event(runtime))
            (before,) = await receiver.wait_for(1)
            rotated = await client.post(f"{ENDPOINTS}/{created['id']}/rotate-secret")
            await fan_out(runtime, await add_event(runtime))
            _, during = await receiver.wait_for(2)
    new_secret = rotated.json()["secret"]

    assert rotated.status_code == 200, rotated.text
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    assert verifies(old_secret, before.body, before.headers)
    assert not verifies(new_secret, before.body, before.headers)
    # During the grace period both secrets sign: a receiver holding either one verifies.
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifies(old_secret, during.body, during.headers)
    assert verifies(new_secret, during.body, during.headers)
    assert not verifies("whsec_" + "A" * 43 + "=", during.body, during.headers)


async def test_after_the_grace_period_only_the_new_secret_signs(
    runtime: Runtime, receiver: Receiver
) -> None:
    async with api_client(create_app(runtime.settings), runtime) as client:
        created = (await client.post(ENDPOINTS, json={"url": receiver.url})).json()
        rotated = (await client.post(f"{ENDPOINTS}/{created['id']}/rotate-secret")).json()
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(created["id"]))
            .values(previous_secret_until=func.now() - timedelta(seconds=1))
        )
        await session.commit()
    async with Dispatcher(runtime, config(runtime)):
        await fan_out(runtime, await add_event(runtime))
        (received,) = await receiver.wait_for(1)

    assert verifies(rotated["secret"], received.body, received.headers)
    assert not verifies(created["secret"], received.body, received.headers)


async def test_500_500_200_is_one_message_retried_on_the_schedule_until_it_succeeds(
    runtime: Runtime, receiver: Receiver
) -> None:
    receiver.script = [500, 500]
    receiver.default = 200
    endpoint = await add_endpoint(runtime, receiver.url)
    delivery_id = await one_delivery(runtime, endpoint.id)

    async with Dispatcher(runtime, config(runtime)):
        await finished(runtime, delivery_id)

    received = receiver.received
    attempts = await attempts_of(runtime, delivery_id)
    assert len(received) == 3
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert (await delivery(runtime, delivery_id)).status == "succeeded"
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert [a.number for a in attempts] == [1, 2, 3]
    assert all(a.latency_ms is not None and a.latency_ms >= 0 for a in attempts)
    # The schedule's one second between attempts, on the recorded times.
    gaps = [
        (b.attempted_at - a.attempted_at).total_seconds() for a, b in itertools.pairwise(attempts)
    ]
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert (await endpoint_row(runtime, endpoint.id)).last_success_at is not None


async def test_the_first_2kb_of_each_answer_is_kept_with_its_attempt(
    runtime: Runtime, receiver: Receiver
) -> None:
    receiver.script = [Response("x" * 5000, status_code=500)]
    receiver.default = 204
    endpoint = await add_endpoint(runtime, receiver.url)
    delivery_id = await one_delivery(runtime, endpoint.id)

    async with Dispatcher(runtime, config(runtime)):
        await finished(runtime, delivery_id)

    first, second = await attempts_of(runtime, delivery_id)
    assert first.status_code == 500 and first.response == "x" * 2048
    assert second.status_code == 204


async def test_retry_after_on_a_503_is_honoured(runtime: Runtime, receiver: Receiver) -> None:
    receiver.script = [Response(status_code=503, headers={"Retry-After": "2"})]
    receiver.default = 200
    endpoint = await add_endpoint(runtime, receiver.url)
    delivery_id = await one_delivery(runtime, endpoint.id)

    async with Dispatcher(runtime, config(runtime)):
        await finished(runtime, delivery_id)

    first, second = await attempts_of(runtime, delivery_id)
    assert (first.status_code, second.status_code) == (503, 200)
    # The schedule says 1 s; the receiver asked for 2.
    assert (second.attempted_at - first.attempted_at).total_seconds() >= 2.0


async def test_a_410_disables_the_endpoint_and_records_the_event(
    runtime: Runtime, receiver: Receiver
) -> None:
    receiver.default = 410
    endpoint = await add_endpoint(
        runtime, receiver.url, owner_kind="regional_system", owner_ref="regional_system:aceh"
    )
    delivery_id = await one_delivery(runtime, endpoint.id)
    later = await add_event(runtime)

    async with Dispatcher(runtime, config(runtime)):
        await finished(runtime, delivery_id)
    await fan_out(runtime, later)

    disabled = await endpoint_row(runtime, endpoint.id)
    assert len(receiver.received) == 1
    assert (await delivery(runtime, delivery_id)).status == "dead"
    assert (disabled.active, disabled.disabled_reason) == (False, "gone")
    (event,) = await events_of_type(runtime, EventType.webhook_endpoint_disabled)
    assert event.data["endpoint_id"] == str(endpoint.id)
    assert event.data["reason"] == "gone"
    assert event.data["owner_ref"] == "regional_system:aceh"
    # Nothing more is sent to it.
    assert len(await deliveries(runtime, endpoint_id=endpoint.id)) == 1


async def test_exhaustion_dead_letters_the_delivery_and_tells_owner_and_admins(
    runtime: Runtime, receiver: Receiver
) -> None:
    receiver.default = 500
    owner = "regional_system:aceh"
    failing = await add_endpoint(
        runtime, receiver.url, owner_kind="regional_system", owner_ref=owner
    )
    delivery_id = await one_delivery(runtime, failing.id)

    async with Dispatcher(runtime, config(runtime)):
        await finished(runtime, delivery_id)

    dead = await delivery(runtime, delivery_id)
    assert (dead.status, dead.attempts, len(receiver.received)) == ("dead", 4, 4)
    (event,) = await events_of_type(runtime, EventType.webhook_delivery_exhausted)
    data: dict[str, Any] = event.data
    assert data["delivery_id"] == str(delivery_id) and data["attempts"] == 4
    assert (data["owner_kind"], data["owner_ref"]) == ("regional_system", owner)
    assert data["last_status_code"] == 500
    assert data["url"] == receiver.url and data["failing_since"] is not None  # for the email

    # An event other endpoints subscribe to by name: the owner's other ones and the admins'.
    exhausted = [EventType.webhook_delivery_exhausted.value]
    owners_other = await add_endpoint(
        runtime,
        "https://a.example/h",
        owner_kind="regional_system",
        owner_ref=owner,
        event_types=exhausted,
    )
    admins = await add_endpoint(runtime, "https://b.example/h", event_types=exhausted)
    stranger = await add_endpoint(
        runtime,
        "https://c.example/h",
        owner_kind="regional_system",
        owner_ref="regional_system:jabar",
        event_types=exhausted,
    )
    unfiltered = await add_endpoint(runtime, "https://d.example/h")  # complaint events only
    await fan_out(runtime, EventEnvelope.of(event))

    reached = {d.endpoint_id for d in await deliveries(runtime, event_id=event.id)}
    assert reached == {owners_other.id, admins.id}
    assert {stranger.id, unfiltered.id, failing.id}.isdisjoint(reached)


async def test_an_endpoint_failing_for_days_without_a_success_is_disabled(
    runtime: Runtime, receiver: Receiver
) -> None:
    receiver.default = 500
    endpoint = await add_endpoint(runtime, receiver.url, owner_ref="admin:ops")
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(failing_since=func.now() - timedelta(days=5, seconds=1))
        )
        await session.commit()
    delivery_id = await one_delivery(runtime, endpoint.id)

    async with Dispatcher(runtime, config(runtime)):

        async def disabled() -> bool:
            return not (await endpoint_row(runtime, endpoint.id)).active

        await until(disabled)

    row = await endpoint_row(runtime, endpoint.id)
    assert row.disabled_reason == "failing"
    assert (await delivery(runtime, delivery_id)).status == "cancelled"
    (event,) = await events_of_type(runtime, EventType.webhook_endpoint_disabled)
    assert (event.data["reason"], event.data["owner_ref"]) == ("failing", "admin:ops")


def test_the_retry_schedule_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADUAN_WEBHOOK_RETRY_SCHEDULE", "1,1,1")
    shortened = DispatchConfig.from_settings(Settings(_env_file=None))
    monkeypatch.delenv("ADUAN_WEBHOOK_RETRY_SCHEDULE")
    svix = DispatchConfig.from_settings(Settings(_env_file=None))

    assert shortened.max_attempts == 4
    assert [shortened.retry_delay(n) for n in (1, 2, 3)] == [1.0, 1.0, 1.0]
    assert svix.max_attempts == 8
    assert [svix.retry_delay(n) for n in range(1, 8)] == [
        5.0,
        300.0,
        1800.0,
        7200.0,
        18000.0,
        36000.0,
        36000.0,
    ]
