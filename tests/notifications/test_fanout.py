"""Consuming events: one pending delivery per active endpoint whose scope covers the event."""

import uuid
from typing import Any

from sqlalchemy import delete, func, select

from notifications.domain import in_scope
from notifications.worker import handle_event
from services.events.catalogue import EventType
from services.models import ProcessedEvent
from services.runtime import Runtime
from tests.notifications.helpers import add_endpoint, add_event, deliveries, queued_job_ids


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


async def test_each_new_delivery_gets_its_first_attempt_job(runtime: Runtime) -> None:
    await add_endpoint(runtime)
    await add_endpoint(runtime, region_codes=["11.01"])
    event = await add_event(runtime)

    result = await handle_event({"runtime": runtime}, event.model_dump(mode="json"))

    created = await deliveries(runtime)
    assert result == "processed"
    prefix = runtime.settings.queue_prefix
    assert set(await queued_job_ids(runtime)) == {f"{prefix}:delivery:{d.id}:1" for d in created}


async def test_the_same_event_twice_makes_one_delivery(runtime: Runtime) -> None:
    await add_endpoint(runtime)
    event = await add_event(runtime)
    payload = event.model_dump(mode="json")

    first = await handle_event({"runtime": runtime}, payload)
    second = await handle_event({"runtime": runtime}, payload)

    assert (first, second) == ("processed", "duplicate")
    assert len(await deliveries(runtime)) == 1
    assert len(await queued_job_ids(runtime)) == 1
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
