"""Routing consumes complaint.submitted: verification and disposition, exactly once."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.worker import prefetch_complaints, route_event
from services.events.catalogue import Consumer, consumers_of
from services.events.envelope import EventEnvelope
from services.models import Complaint, ComplaintAgency, ComplaintClock, Event
from services.runtime import Runtime
from services.worker import event_task
from tests.factories import add_complaint, add_event, agency_id

handle_event = event_task("routing", route_event)


async def file_complaint(
    runtime: Runtime, region_code: str = "11.01.01"
) -> tuple[str, EventEnvelope]:
    """A submitted complaint and its event, as intake leaves them (from the shared factories)."""
    async with runtime.sessionmaker() as session:
        filed = await add_complaint(session, region_code=region_code)
        event = await add_event(session, complaint=filed)
        await session.commit()
        return filed.tracking_id, EventEnvelope.of(event)


async def complaint(session: AsyncSession, tracking_id: str) -> Complaint:
    found = await session.scalar(select(Complaint).where(Complaint.tracking_id == tracking_id))
    assert found is not None
    await session.refresh(found)
    return found


async def test_submitted_complaint_is_verified_and_dispositioned_to_its_kabupatens_office(
    runtime: Runtime, session: AsyncSession
) -> None:
    tracking_id, submitted = await file_complaint(runtime, region_code="11.01.01.2001")

    result = await handle_event({"runtime": runtime}, submitted.model_dump(mode="json"))

    assert result == "processed"
    stored = await complaint(session, tracking_id)
    assert stored.status == "dispositioned"
    agencies = (
        await session.scalars(
            select(ComplaintAgency).where(ComplaintAgency.complaint_id == stored.id)
        )
    ).all()
    assert [a.agency.code for a in agencies] == ["pemda-11.01.dinas-pupr"]
    assert [(a.role, a.status, a.active) for a in agencies] == [("handler", "assigned", True)]
    events = (
        await session.scalars(
            select(Event).where(Event.complaint_id == stored.id).order_by(Event.id)
        )
    ).all()
    assert [e.type for e in events] == [
        "complaint.submitted",
        "complaint.verified",
        "complaint.dispositioned",
    ]
    assert events[-1].data["agencies"][0]["code"] == "pemda-11.01.dinas-pupr"
    assert events[-1].data["disposition"]["rule"]["office_type"] == "dinas_pupr"
    assert events[-1].actor_kind == "system"


async def test_province_only_complaint_goes_to_the_provinces_office(
    runtime: Runtime, session: AsyncSession
) -> None:
    tracking_id, submitted = await file_complaint(runtime, region_code="34")

    await handle_event({"runtime": runtime}, submitted.model_dump(mode="json"))

    stored = await complaint(session, tracking_id)
    assignment = await session.scalar(
        select(ComplaintAgency).where(ComplaintAgency.complaint_id == stored.id)
    )
    assert assignment is not None
    assert assignment.agency.code == "pemprov-34.dinas-pupr"
    assert assignment.agency.parent_id == await agency_id(session, "pemprov-34")


async def test_the_same_event_twice_acts_once(runtime: Runtime, session: AsyncSession) -> None:
    tracking_id, submitted = await file_complaint(runtime)
    ctx = {"runtime": runtime}

    first = await handle_event(ctx, submitted.model_dump(mode="json"))
    second = await handle_event(ctx, submitted.model_dump(mode="json"))

    assert (first, second) == ("processed", "duplicate")
    stored = await complaint(session, tracking_id)
    dispositioned = await session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.complaint_id == stored.id, Event.type == "complaint.dispositioned")
    )
    assert dispositioned == 1


async def test_an_unknown_complaint_is_skipped(runtime: Runtime) -> None:
    _, submitted = await file_complaint(runtime)
    ghost = submitted.model_copy(update={"id": uuid.uuid4(), "complaint_id": uuid.uuid4()})

    assert await handle_event({"runtime": runtime}, ghost.model_dump(mode="json")) == "processed"


async def test_a_batch_of_submitted_complaints_is_routed_in_one_job(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaints = [
        await add_complaint(session, region_code=code) for code in ("11.01.01", "34", "32.73")
    ]
    events = [await add_event(session, complaint=c) for c in complaints]
    await session.commit()
    batch_task = event_task("routing", route_event, prefetch=prefetch_complaints)

    result = await batch_task(
        {"runtime": runtime}, [EventEnvelope.of(e).model_dump(mode="json") for e in events]
    )

    assert result == "processed 3, duplicates 0"
    agencies = []
    for stored in complaints:
        await session.refresh(stored)
        assert stored.status == "dispositioned"
        assignment = await session.scalar(
            select(ComplaintAgency).where(ComplaintAgency.complaint_id == stored.id)
        )
        assert assignment is not None
        agencies.append(assignment.agency.code)
    assert agencies == [
        "pemda-11.01.dinas-pupr",
        "pemprov-34.dinas-pupr",
        "pemda-32.73.dinas-pupr",
    ]


async def test_the_clocks_follow_routings_own_events_in_the_same_job(
    runtime: Runtime, session: AsyncSession
) -> None:
    # Routing records verified and dispositioned itself: the job that did so also stops the
    # verification clock and starts the office's clocks, with no second trip through the queue.
    tracking_id, submitted = await file_complaint(runtime)

    await handle_event({"runtime": runtime}, submitted.model_dump(mode="json"))

    stored = await complaint(session, tracking_id)
    clocks = (
        await session.scalars(
            select(ComplaintClock).where(ComplaintClock.complaint_id == stored.id)
        )
    ).all()
    running = {(c.kind, c.agency_id) for c in clocks if c.stopped_at is None}
    office = await agency_id(session, "pemda-11.01.dinas-pupr")
    assert running == {("first_response", office), ("completion", office)}
    # Verified in the same job, it never waited for a person: no verification clock runs.
    assert not [c for c in clocks if c.kind == "verification" and c.stopped_at is None]
    # ... and routing is not sent its own events again.
    assert consumers_of("complaint.dispositioned") == (Consumer.notifications,)
    assert consumers_of("complaint.verified") == (Consumer.notifications,)
