"""The dispatcher's guarantees, with real dispatchers, the real database and real receivers: one
endpoint's trouble never delays another's deliveries, events of a complaint arrive in order,
per-endpoint limits hold across processes, circuits open and close, and a dead process's leases
are taken over."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from notifications.dispatcher import Dispatcher
from notifications.domain import Attempt, BreakerPolicy, Claim, Outcome, outcome_of
from notifications.service import DispatchService
from services.events.catalogue import EventType
from services.models import WebhookDelivery
from services.runtime import Runtime
from tests.notifications.conftest import fast_config
from tests.notifications.helpers import (
    add_complaint,
    add_endpoint,
    add_event,
    attempts_made,
    claim,
    deliveries,
    delivery,
    end_cool_down,
    endpoint_row,
    expire_leases,
    fan_out,
    statuses,
    until,
)
from tests.notifications.receivers import hanging_receiver, tracking_receiver
from tests.receiver import Receiver


@pytest.fixture
def runtime(committed_runtime: Runtime) -> Runtime:
    """Dispatchers commit their own transactions: these tests run on committed data."""
    return committed_runtime


async def all_succeeded(runtime: Runtime, endpoint_id: uuid.UUID, count: int) -> bool:
    return await statuses(runtime, endpoint_id=endpoint_id) == ["succeeded"] * count


async def record(runtime: Runtime, outcomes: list[Outcome]) -> list[Outcome]:
    async with runtime.sessionmaker() as session, session.begin():
        config = fast_config(runtime.settings)
        return await DispatchService(session, config).record(outcomes)


def answered(claimed: Claim, status_code: int) -> Outcome:
    error = None if status_code < 300 else f"HTTP {status_code}"
    return outcome_of(
        claimed,
        Attempt(status_code, error, datetime.now(UTC)),
        max_attempts=8,
        delay=lambda attempts: 3600.0,
    )


async def test_a_receiver_that_never_answers_does_not_delay_the_others(runtime: Runtime) -> None:
    events = [await add_event(runtime) for _ in range(20)]
    config = fast_config(runtime.settings, timeout_seconds=30.0, shutdown_grace_seconds=0.1)
    async with hanging_receiver() as hanging, tracking_receiver() as a, tracking_receiver() as b:
        stuck = await add_endpoint(runtime, hanging.url)
        healthy = [await add_endpoint(runtime, r.url) for r in (a, b)]

        async with Dispatcher(runtime, config):
            for event in events:
                await fan_out(runtime, event)
            for endpoint in healthy:
                await until(lambda e=endpoint: all_succeeded(runtime, e.id, len(events)))

            # Every other delivery is done while the first ones to the hanging receiver are
            # still waiting for an answer: never more of them than the endpoint's limit.
            stuck_deliveries = await deliveries(runtime, endpoint_id=stuck.id)
            assert {(d.status, d.attempts) for d in stuck_deliveries} == {("pending", 0)}
            leased = [d for d in stuck_deliveries if d.lease_until is not None]
            assert len(leased) == config.endpoint_concurrency
            assert hanging.connections <= config.endpoint_concurrency

    assert [len(r.ids) for r in (a, b)] == [len(events), len(events)]


async def test_a_failing_endpoint_is_cut_off_while_the_others_flow(
    runtime: Runtime, receiver: Receiver
) -> None:
    """A receiver that times out on everything opens its circuit; deliveries to another
    endpoint go on meanwhile, and the failing one's stop losing attempts."""
    events = [await add_event(runtime) for _ in range(10)]
    policy = BreakerPolicy(failures=3, cooldown_seconds=3600.0)
    config = fast_config(
        runtime.settings, timeout_seconds=0.2, breaker=policy, shutdown_grace_seconds=0.1
    )
    async with hanging_receiver() as hanging:
        stuck = await add_endpoint(runtime, hanging.url)
        healthy = await add_endpoint(runtime, receiver.url)
        async with Dispatcher(runtime, config):
            for event in events:
                await fan_out(runtime, event)

            async def circuit_open() -> bool:
                return (await endpoint_row(runtime, stuck.id)).circuit_open_until is not None

            await until(circuit_open)
            await until(lambda: all_succeeded(runtime, healthy.id, len(events)))

            # Open: once its attempts in flight have ended, none of its deliveries is claimed,
            # so they stop losing attempts.
            async def none_in_flight() -> bool:
                found = await deliveries(runtime, endpoint_id=stuck.id)
                return all(d.lease_until is None for d in found)

            await until(none_in_flight)
            assert await claim(runtime, config) == []
            made = await attempts_made(runtime, stuck.id)
            assert policy.failures <= made <= policy.failures + config.endpoint_concurrency
            assert set(await statuses(runtime, endpoint_id=stuck.id)) == {"pending"}


async def test_events_of_a_complaint_reach_an_endpoint_in_order(runtime: Runtime) -> None:
    """The first event fails twice; the later events of its complaint wait for its success,
    while another complaint's event does not wait for it."""
    complaint_id = await add_complaint(runtime)
    ordered = [
        await add_event(runtime, type_, complaint_id=complaint_id)
        for type_ in (
            EventType.complaint_submitted,
            EventType.complaint_verified,
            EventType.complaint_dispositioned,
        )
    ]
    other = await add_event(runtime, complaint_id=await add_complaint(runtime))
    first, second, third = (str(e.id) for e in ordered)
    async with tracking_receiver() as tracking:
        tracking.script = {first: [500, 500]}
        endpoint = await add_endpoint(runtime, tracking.url)
        for event in [*ordered, other]:
            await fan_out(runtime, event)

        async with Dispatcher(runtime, fast_config(runtime.settings)):
            await until(lambda: all_succeeded(runtime, endpoint.id, 4))

    assert [i for i in tracking.ids if i != str(other.id)] == [first, first, first, second, third]
    # Each later event started only once the one before had its 2xx answer.
    log = tracking.log
    last_first = max(i for i, entry in enumerate(log) if entry == ("end", first))
    assert last_first < log.index(("start", second)) < log.index(("end", second))
    assert log.index(("end", second)) < log.index(("start", third))
    # The other complaint went out with the first attempt, not after the retries.
    assert tracking.ids.index(str(other.id)) < 2
    assert [d.attempts for d in await deliveries(runtime, event_id=ordered[0].id)] == [3]


async def test_a_later_event_fans_out_the_earlier_ones_of_its_complaint_first(
    runtime: Runtime, receiver: Receiver
) -> None:
    """Fan-out jobs may run out of order: the later event's fan-out makes the earlier event's
    deliveries too, so the earlier one is claimed first; its own job then adds nothing."""
    config = fast_config(runtime.settings)
    await add_endpoint(runtime, receiver.url)
    complaint_id = await add_complaint(runtime)
    earlier = await add_event(runtime, EventType.complaint_verified, complaint_id=complaint_id)
    later = await add_event(runtime, complaint_id=complaint_id)
    elsewhere = await add_event(runtime, complaint_id=await add_complaint(runtime))
    await fan_out(runtime, elsewhere)

    await fan_out(runtime, later)
    made = {d.event_id for d in await deliveries(runtime)}
    first_claim = await claim(runtime, config)
    assert await fan_out(runtime, earlier) == "processed"
    after_own_job = len(await deliveries(runtime))
    (claimed_first,) = [c for c in first_claim if c.event_id != elsewhere.id]
    await record(runtime, [answered(claimed_first, 204)])
    (claimed_second,) = await claim(runtime, config)

    assert made == {earlier.id, later.id, elsewhere.id}
    assert {c.event_id for c in first_claim} == {earlier.id, elsewhere.id}
    assert after_own_job == 3
    assert claimed_first.event_id == earlier.id
    assert claimed_second.event_id == later.id


async def test_order_waits_within_its_bound_and_never_for_dead_letters(
    runtime: Runtime, receiver: Receiver
) -> None:
    config = fast_config(runtime.settings)
    await add_endpoint(runtime, receiver.url)
    complaint_id = await add_complaint(runtime)
    events = [await add_event(runtime, complaint_id=complaint_id) for _ in range(3)]
    for event in events:
        await fan_out(runtime, event)
    (first,) = await claim(runtime, config)
    await record(runtime, [answered(first, 503)])  # retried in an hour; the others wait
    assert await claim(runtime, config) == []

    # Pending for longer than the bound: it no longer holds the next one back.
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == first.delivery_id)
            .values(
                created_at=datetime.now(UTC) - timedelta(seconds=config.order_max_wait_seconds + 60)
            )
        )
        await session.commit()
    (second,) = await claim(runtime, config)
    await record(runtime, [answered(second, 503)])
    assert second.event_id == events[1].id
    assert await claim(runtime, config) == []

    # A dead letter never holds anything back.
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == second.delivery_id)
            .values(status="dead")
        )
        await session.commit()
    (third,) = await claim(runtime, config)
    assert third.event_id == events[2].id


async def test_the_per_endpoint_limit_holds_across_dispatchers(runtime: Runtime) -> None:
    """Two dispatchers (as two worker processes) share one endpoint's limit."""
    events = [await add_event(runtime) for _ in range(24)]
    config = fast_config(runtime.settings, endpoint_concurrency=3)
    async with tracking_receiver() as slow:
        slow.delay = 0.1
        endpoint = await add_endpoint(runtime, slow.url)
        for event in events:
            await fan_out(runtime, event)

        async with Dispatcher(runtime, config), Dispatcher(runtime, config):
            await until(lambda: all_succeeded(runtime, endpoint.id, len(events)))

    assert len(slow.ids) == len(events)
    assert 1 <= slow.max_in_flight <= config.endpoint_concurrency


async def test_the_circuit_opens_after_failures_and_a_successful_probe_closes_it(
    runtime: Runtime,
) -> None:
    events = [await add_event(runtime) for _ in range(6)]
    policy = BreakerPolicy(failures=3, cooldown_seconds=1000.0, max_cooldown_seconds=1500.0)
    one_at_a_time = fast_config(runtime.settings, endpoint_concurrency=1, breaker=policy)
    four_at_a_time = fast_config(runtime.settings, endpoint_concurrency=4, breaker=policy)
    async with tracking_receiver() as tracking:
        tracking.default = 503
        endpoint = await add_endpoint(runtime, tracking.url)
        for event in events:
            await fan_out(runtime, event)

        async def trips(count: int) -> bool:
            return (await endpoint_row(runtime, endpoint.id)).circuit_trips == count

        # Three failures in a row open the circuit; nothing more is attempted meanwhile.
        async with Dispatcher(runtime, one_at_a_time):
            await until(lambda: trips(1))
        opened = await endpoint_row(runtime, endpoint.id)
        assert opened.failure_streak == policy.failures
        assert opened.circuit_open_until is not None
        assert opened.circuit_open_until > datetime.now(UTC) + timedelta(seconds=900)
        assert await attempts_made(runtime, endpoint.id) == 3
        assert await claim(runtime, four_at_a_time) == []

        async with Dispatcher(runtime, four_at_a_time):
            # After the cool-down one probe goes; it fails: open again, twice as long (capped).
            await end_cool_down(runtime, endpoint.id)
            await until(lambda: trips(2))
            reopened = await endpoint_row(runtime, endpoint.id)
            assert reopened.failure_streak == policy.failures + 1
            assert reopened.circuit_open_until is not None
            assert reopened.circuit_open_until > datetime.now(UTC) + timedelta(seconds=1400)
            assert await attempts_made(runtime, endpoint.id) == 4

            # The next probe succeeds: closed, and the rest flows.
            tracking.default = 204
            tracking.delay = 0.05
            mark = len(tracking.log)
            await end_cool_down(runtime, endpoint.id)
            await until(lambda: all_succeeded(runtime, endpoint.id, len(events)))

    closed = await endpoint_row(runtime, endpoint.id)
    assert (closed.failure_streak, closed.circuit_trips, closed.circuit_open_until) == (0, 0, None)
    probe = tracking.log[mark]
    assert probe[0] == "start" and tracking.log[mark + 1] == ("end", probe[1])  # alone
    assert len(tracking.ids) == 4 + len(events)


async def test_an_expired_lease_is_taken_over_and_the_late_outcome_ignored(
    runtime: Runtime, receiver: Receiver
) -> None:
    config = fast_config(runtime.settings, retry_delay=lambda attempts: 3600.0)
    endpoint = await add_endpoint(runtime, receiver.url)
    await fan_out(runtime, await add_event(runtime))
    # A dispatcher claimed the delivery, then its process died before it recorded anything.
    (taken,) = await claim(runtime, config)
    assert await claim(runtime, config) == []  # leased: nobody else takes it meanwhile

    receiver.script = [503]
    await expire_leases(runtime)
    async with Dispatcher(runtime, config):

        async def attempted() -> bool:
            return (await delivery(runtime, taken.delivery_id)).attempts == 1

        await until(attempted)

    # The dead dispatcher's outcome, arriving late, does not overwrite the newer attempt's.
    assert await record(runtime, [answered(taken, 204)]) == []
    found = await delivery(runtime, taken.delivery_id)
    assert (found.status, found.attempts, found.last_status_code) == ("pending", 1, 503)
    assert (await endpoint_row(runtime, endpoint.id)).failure_streak == 1
    assert len(receiver.received) == 1
