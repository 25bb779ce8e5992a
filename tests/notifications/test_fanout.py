"""Consuming events: one pending delivery per active endpoint whose filters admit the event,
made by one INSERT … SELECT."""

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.dispatcher import Dispatcher
from notifications.domain import in_scope
from notifications.worker import handle_event
from services.events.catalogue import INTERNAL_EVENTS, EventType
from services.models import ProcessedEvent
from services.runtime import Runtime
from tests.notifications.conftest import fast_config
from tests.notifications.helpers import (
    add_complaint,
    add_endpoint,
    add_event,
    deliveries,
    fan_out,
    until,
)
from tests.receiver import Receiver


async def endpoints_reached(runtime: Runtime, event_id: uuid.UUID) -> set[uuid.UUID]:
    return {d.endpoint_id for d in await deliveries(runtime, event_id=event_id)}


async def test_region_and_type_filters_pick_the_endpoints(runtime: Runtime) -> None:
    aceh = await add_endpoint(runtime, region_codes=["11"])
    aceh_selatan = await add_endpoint(runtime, region_codes=["11.01"])
    aceh_singkil = await add_endpoint(runtime, region_codes=["11.02"])
    jabar = await add_endpoint(runtime, region_codes=["32"])
    two_regencies = await add_endpoint(runtime, region_codes=["32.73", "11.01"])
    everything = await add_endpoint(runtime)
    dispositions_only = await add_endpoint(runtime, event_types=["complaint.dispositioned"])
    aceh_submissions = await add_endpoint(
        runtime, region_codes=["11"], event_types=["complaint.submitted"]
    )
    await add_endpoint(runtime, active=False)
    ctx: dict[str, Any] = {"runtime": runtime}

    in_bakongan = await add_event(runtime, EventType.complaint_dispositioned, "11.01.01.2001")
    province_level = await add_event(runtime, EventType.complaint_submitted, "11")
    in_bandung = await add_event(runtime, EventType.complaint_verified, "32.73.01")
    for event in (in_bakongan, province_level, in_bandung):
        assert (await handle_event(ctx, event.model_dump(mode="json"))).startswith("processed")

    assert await endpoints_reached(runtime, in_bakongan.id) == {
        aceh.id,
        aceh_selatan.id,
        two_regencies.id,
        everything.id,
        dispositions_only.id,
    }
    # A kabupaten's system hears nothing of a complaint filed only at province level.
    assert await endpoints_reached(runtime, province_level.id) == {
        aceh.id,
        everything.id,
        aceh_submissions.id,
    }
    assert await endpoints_reached(runtime, in_bandung.id) == {
        jabar.id,
        two_regencies.id,
        everything.id,
    }
    assert aceh_singkil.id not in {d.endpoint_id for d in await deliveries(runtime)}
    assert {d.status for d in await deliveries(runtime)} == {"pending"}
    assert {d.attempts for d in await deliveries(runtime)} == {0}


async def test_event_without_region_reaches_only_unfiltered_endpoints(runtime: Runtime) -> None:
    await add_endpoint(runtime, region_codes=["11"])
    everything = await add_endpoint(runtime)
    event = await add_event(runtime, region_code=None)

    await handle_event({"runtime": runtime}, event.model_dump(mode="json"))

    assert await endpoints_reached(runtime, event.id) == {everything.id}


@contextmanager
def statements(conn: AsyncConnection) -> Iterator[list[str]]:
    """The SQL statements run on the test's connection meanwhile."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    sa_event.listen(conn.sync_connection, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa_event.remove(conn.sync_connection, "before_cursor_execute", note)


async def test_the_fan_out_is_one_insert_select_with_the_complaint(
    runtime: Runtime, db: AsyncConnection
) -> None:
    for scope in ([], ["11"], ["11.01.01"], ["32"]):
        await add_endpoint(runtime, region_codes=scope)
    complaint_id = await add_complaint(runtime)
    event_ = await add_event(runtime, complaint_id=complaint_id)

    with statements(db) as seen:
        assert await fan_out(runtime, event_) == "processed"

    (fan_out_statement,) = [s for s in seen if "webhook_" in s]
    assert "INSERT INTO webhook_deliveries" in fan_out_statement
    assert "SELECT" in fan_out_statement and "webhook_endpoints" in fan_out_statement
    created = await deliveries(runtime, event_id=event_.id)
    assert len(created) == 3
    assert {d.complaint_id for d in created} == {complaint_id}
    assert {(d.status, d.attempts, d.lease_until) for d in created} == {("pending", 0, None)}


SCOPES = [[], ["11"], ["11.01"], ["11.01.01"], ["1"], ["32", "11.01"], ["11.010"]]
CODES = ["11", "11.01", "11.010", "11.01.01.2001", "11.02.03", "32.73", "1", None]
TYPES = [[], ["complaint.verified"], ["complaint.submitted", "complaint.dispositioned"]]


async def test_the_fan_out_admits_exactly_what_in_scope_admits(runtime: Runtime) -> None:
    """The SQL filter and the domain rule agree on every scope, region and type here."""
    endpoints = {
        (await add_endpoint(runtime, region_codes=scope, event_types=types)).id: (scope, types)
        for scope, types in itertools.product(SCOPES, TYPES)
    }
    # Account events are internal: never fanned out (tests/notifications/test_people.py).
    webhook_types = [t for t in EventType if t not in INTERNAL_EVENTS]
    for code, type_ in itertools.product(CODES, webhook_types):
        event_ = await add_event(runtime, type_, code)
        await fan_out(runtime, event_)

        expected = {
            endpoint_id
            for endpoint_id, (scope, types) in endpoints.items()
            if in_scope(scope, types, event_type=type_.value, region_code=code)
        }
        assert await endpoints_reached(runtime, event_.id) == expected, (code, type_)


async def test_a_committed_fan_out_wakes_the_dispatcher(
    committed_runtime: Runtime, receiver: Receiver
) -> None:
    """The dispatcher below never polls again after its first claim: only the wake-up after
    the fan-out's commit can make it deliver."""
    await add_endpoint(committed_runtime, receiver.url)
    config = fast_config(committed_runtime.settings, poll_seconds=3600.0)

    async with Dispatcher(committed_runtime, config) as dispatcher:
        event_ = await add_event(committed_runtime)

        async def idle() -> bool:  # its first claim found nothing; it waits now
            return dispatcher.waiting

        await until(idle)
        await fan_out(committed_runtime, event_)
        await receiver.wait_for(1)

    assert [d.status for d in await deliveries(committed_runtime)] == ["succeeded"]


async def test_the_same_event_twice_makes_one_delivery(runtime: Runtime) -> None:
    await add_endpoint(runtime)
    event = await add_event(runtime)
    payload = event.model_dump(mode="json")

    first = await handle_event({"runtime": runtime}, payload)
    second = await handle_event({"runtime": runtime}, payload)

    assert (first, second) == ("processed", "duplicate")
    assert len(await deliveries(runtime)) == 1
    async with runtime.sessionmaker() as session:
        seen = await session.scalar(
            select(func.count()).where(
                ProcessedEvent.consumer == "notifications", ProcessedEvent.event_id == event.id
            )
        )
    assert seen == 1


async def test_a_lost_inbox_record_still_makes_no_second_delivery(runtime: Runtime) -> None:
    """Even past the inbox, the unique (endpoint, event) pair keeps one delivery."""
    await add_endpoint(runtime)
    event = await add_event(runtime)
    await handle_event({"runtime": runtime}, event.model_dump(mode="json"))
    async with runtime.sessionmaker() as session:
        await session.execute(delete(ProcessedEvent))
        await session.commit()

    again = await handle_event({"runtime": runtime}, event.model_dump(mode="json"))

    assert again == "processed"
    assert len(await deliveries(runtime)) == 1


def test_scope_rules() -> None:
    def scoped(regions: list[str], types: list[str], type_: str, region: str | None) -> bool:
        return in_scope(regions, types, event_type=type_, region_code=region)

    assert scoped([], [], "complaint.submitted", None)
    assert scoped(["11"], [], "complaint.submitted", "11.01.01")
    assert scoped(["11.01"], [], "complaint.submitted", "11.01")
    assert not scoped(["11.01"], [], "complaint.submitted", "11")
    assert not scoped(["11.01"], [], "complaint.submitted", "11.010")
    assert not scoped(["1"], [], "complaint.submitted", "11.01")
    assert not scoped(["11"], [], "complaint.submitted", None)
    assert not scoped([], ["complaint.verified"], "complaint.submitted", "11")
