"""The agency's side of the conversation and what the reporter's answers change in routing:
agency comments, follow-up texts of confidential complaints, verifiers marking duplicates, and
the clocks and assignments that follow a reply, an acceptance and a reopening."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.disposition.repository import clear_caches
from routing.main import create_app
from routing.worker import route_event
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.models import Complaint, ComplaintAgency, ComplaintClock, Event
from services.principal import Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_clock, add_complaint, agency_id, assign

ADMIN = Principal(kind=PrincipalKind.user, role=Role.admin, subject="admin-1")


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


async def staff(session: AsyncSession, code: str, role: Role = Role.liaison) -> Principal:
    agency = await agency_id(session, code)
    return Principal(
        kind=PrincipalKind.user,
        role=role,
        subject=str(uuid.uuid4()),
        agency_id=agency,
        agency_ids=(agency,),
    )


def client(runtime: Runtime, principal: Principal) -> httpx.AsyncClient:
    async def settle(_: httpx.Response) -> None:
        await runtime.publisher.close()

    c = service_client(create_app(runtime.settings), runtime, principal)
    c.event_hooks["response"].append(settle)
    return c


async def events_of(session: AsyncSession, complaint: Complaint, type_: str) -> list[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.complaint_id == complaint.id, Event.type == type_)
        .order_by(Event.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def clocks_of(session: AsyncSession, complaint: Complaint) -> list[ComplaintClock]:
    rows = await session.scalars(
        select(ComplaintClock)
        .where(ComplaintClock.complaint_id == complaint.id)
        .order_by(ComplaintClock.started_at)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def running(clocks: list[ComplaintClock]) -> set[str]:
    return {c.kind for c in clocks if c.stopped_at is None}


async def reloaded(session: AsyncSession, complaint: Complaint) -> Complaint:
    await session.refresh(complaint)
    return complaint


# --- agency comments --------------------------------------------------------------------------


async def test_the_assigned_agency_comments_to_the_reporter(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, status="in_progress")
    await assign(session, complaint, "pemda-11.01", status="accepted")
    liaison = await staff(session, "pemda-11.01")

    async with client(runtime, liaison) as c:
        posted = await c.post(
            f"/api/v1/agency/complaints/{complaint.tracking_id}/comments",
            json={"body": "Mohon kirim foto dari sisi lain."},
        )

    assert posted.status_code == 201, posted.text
    assert posted.json()["agency"]["code"] == "pemda-11.01"
    [event] = await events_of(session, complaint, "complaint.commented")
    assert (event.data["author"], event.data["body"]) == (
        "agency",
        "Mohon kirim foto dari sisi lain.",
    )
    assert event.actor_role == "liaison"


async def test_a_confidential_complaints_agency_comment_is_kept_off_the_event_but_shown_to_it(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, status="in_progress", confidential=True)
    await assign(session, complaint, "pemda-11.01", status="accepted")
    liaison = await staff(session, "pemda-11.01")

    async with client(runtime, liaison) as c:
        posted = await c.post(
            f"/api/v1/agency/complaints/{complaint.tracking_id}/comments",
            json={"body": "Petugas yang dilaporkan sudah dipanggil."},
        )
        detail = await c.get(f"/api/v1/agency/complaints/{complaint.tracking_id}")

    assert posted.status_code == 201, posted.text
    [event] = await events_of(session, complaint, "complaint.commented")
    assert event.data["body"] is None
    assert event.private_data == {"body": "Petugas yang dilaporkan sudah dipanggil."}
    [entry] = [e for e in detail.json()["timeline"] if e["type"] == "complaint.commented"]
    assert entry["details"]["body"] == "Petugas yang dilaporkan sudah dipanggil."


async def test_other_agencies_and_closed_complaints_get_no_agency_comment(
    runtime: Runtime, session: AsyncSession
) -> None:
    working = await add_complaint(session, status="in_progress")
    await assign(session, working, "pemda-11.01", status="accepted")
    resolved = await add_complaint(session, status="resolved")
    await assign(session, resolved, "pemda-11.01", status="resolved")
    stranger = await staff(session, "pemda-32.01")
    liaison = await staff(session, "pemda-11.01")

    async with client(runtime, stranger) as c:
        outside = await c.post(
            f"/api/v1/agency/complaints/{working.tracking_id}/comments", json={"body": "Halo"}
        )
    async with client(runtime, liaison) as c:
        closed = await c.post(
            f"/api/v1/agency/complaints/{resolved.tracking_id}/comments", json={"body": "Halo"}
        )

    assert outside.status_code == 404, outside.text
    assert closed.status_code == 409 and closed.json()["code"] == "wrong_status", closed.text
    assert await events_of(session, working, "complaint.commented") == []
    assert await events_of(session, resolved, "complaint.commented") == []


async def test_a_confidential_complaints_follow_up_text_is_kept_for_its_reporter_not_published(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, status="in_progress", confidential=True)
    await assign(session, complaint, "pemda-11.01", status="accepted")
    liaison = await staff(session, "pemda-11.01")

    async with client(runtime, liaison) as c:
        answered = await c.post(
            f"/api/v1/agency/complaints/{complaint.tracking_id}/follow-ups",
            json={"text": "Petugas telah diperiksa dan uang dikembalikan."},
        )

    assert answered.status_code == 200, answered.text
    [event] = await events_of(session, complaint, "complaint.followed_up")
    assert event.data["text"] is None
    assert event.private_data == {"text": "Petugas telah diperiksa dan uang dikembalikan."}


# --- duplicates -------------------------------------------------------------------------------


async def test_a_verifier_marks_a_dispositioned_complaint_a_duplicate_and_its_clocks_stop(
    runtime: Runtime, session: AsyncSession
) -> None:
    original = await add_complaint(session, status="in_progress")
    repeat = await add_complaint(session, status="dispositioned")
    office = await assign(session, repeat, "pemda-11.01")
    await add_clock(session, repeat, kind="first_response", agency_id=office.id)
    await add_clock(session, repeat, kind="completion", agency_id=office.id)

    async with client(runtime, ADMIN) as c:
        marked = await c.post(
            f"/api/v1/verification/complaints/{repeat.tracking_id}/duplicate",
            json={"duplicate_of": original.tracking_id.lower()},
        )

    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "duplicate"
    assert (await reloaded(session, repeat)).status == "duplicate"
    [event] = await events_of(session, repeat, "complaint.marked_duplicate")
    assert event.data["duplicate_of"] == original.tracking_id
    assert event.data["previous_status"] == "dispositioned"
    assert [a["code"] for a in event.data["agencies"]] == ["pemda-11.01"]
    assert running(await clocks_of(session, repeat)) == set()


@pytest.mark.parametrize("target", ["itself", "unknown", "a duplicate"])
async def test_a_duplicate_of_itself_an_unknown_or_a_duplicate_complaint_is_refused(
    runtime: Runtime, session: AsyncSession, target: str
) -> None:
    complaint = await add_complaint(session, status="submitted")
    already = await add_complaint(session, status="duplicate")
    duplicate_of = {
        "itself": complaint.tracking_id,
        "unknown": "ADN-00000000",
        "a duplicate": already.tracking_id,
    }[target]

    async with client(runtime, ADMIN) as c:
        refused = await c.post(
            f"/api/v1/verification/complaints/{complaint.tracking_id}/duplicate",
            json={"duplicate_of": duplicate_of},
        )

    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["pointer"] == "/duplicate_of"
    assert (
        error["code"]
        == {
            "itself": "duplicate_of_itself",
            "unknown": "unknown_complaint",
            "a duplicate": "target_is_duplicate",
        }[target]
    )
    assert (await reloaded(session, complaint)).status == "submitted"


async def test_a_resolved_complaint_is_not_marked_and_a_coordinator_elsewhere_sees_none(
    runtime: Runtime, session: AsyncSession
) -> None:
    original = await add_complaint(session, status="in_progress")
    resolved = await add_complaint(session, status="resolved")
    submitted = await add_complaint(session, status="submitted")
    elsewhere = await staff(session, "pemda-32.01", Role.coordinator)

    async with client(runtime, ADMIN) as c:
        done = await c.post(
            f"/api/v1/verification/complaints/{resolved.tracking_id}/duplicate",
            json={"duplicate_of": original.tracking_id},
        )
    async with client(runtime, elsewhere) as c:
        outside = await c.post(
            f"/api/v1/verification/complaints/{submitted.tracking_id}/duplicate",
            json={"duplicate_of": original.tracking_id},
        )

    assert done.status_code == 409 and done.json()["code"] == "illegal_transition", done.text
    assert outside.status_code == 404, outside.text
    assert (await reloaded(session, resolved)).status == "resolved"
    assert (await reloaded(session, submitted)).status == "submitted"


# --- the reporter's answers move routing's clocks and assignments ------------------------------


def reporter_event(type_: EventType, complaint: Complaint, at: datetime) -> EventEnvelope:
    return EventEnvelope(
        id=uuid.uuid4(),
        type=type_.value,
        occurred_at=at,
        complaint_id=complaint.id,
        actor_kind="citizen",
        actor_id=str(uuid.uuid4()),
        data={"tracking_id": complaint.tracking_id},
        trace_id=None,
    )


async def assignments_of(session: AsyncSession, complaint: Complaint) -> list[str]:
    rows = await session.scalars(
        select(ComplaintAgency.status)
        .where(ComplaintAgency.complaint_id == complaint.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_a_reply_stops_the_reply_window_and_the_agencys_completion_runs_on(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, status="in_progress")
    office = await assign(session, complaint, "pemda-11.01", status="responded")
    await add_clock(session, complaint, kind="completion", agency_id=office.id)
    await add_clock(session, complaint, kind="reply_window")

    await route_event(
        session,
        reporter_event(EventType.complaint_reporter_replied, complaint, datetime.now(UTC)),
        runtime,
    )
    await session.flush()

    assert running(await clocks_of(session, complaint)) == {"completion"}


async def test_an_accepted_resolution_stops_every_clock_and_ends_the_handlers_work(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, status="resolved")
    office = await assign(session, complaint, "pemda-11.01", status="responded")
    await add_clock(session, complaint, kind="completion", agency_id=office.id)
    await add_clock(session, complaint, kind="reply_window")

    await route_event(
        session,
        reporter_event(EventType.complaint_resolution_accepted, complaint, datetime.now(UTC)),
        runtime,
    )
    await session.flush()

    assert running(await clocks_of(session, complaint)) == set()
    assert await assignments_of(session, complaint) == ["resolved"]


async def test_a_reopened_complaint_is_its_handlers_again_with_fresh_deadlines(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, status="in_progress")
    await assign(session, complaint, "pemda-11.01", status="resolved")
    # Reopened on Friday 13 March 2026, 10:00 WIB: 5 working days skip 18–24 March.
    reopened_at = datetime(2026, 3, 13, 3, tzinfo=UTC)

    await route_event(
        session, reporter_event(EventType.complaint_reopened, complaint, reopened_at), runtime
    )
    await session.flush()

    assert await assignments_of(session, complaint) == ["accepted"]
    clocks = {c.kind: c for c in await clocks_of(session, complaint) if c.stopped_at is None}
    assert set(clocks) == {"first_response", "completion"}
    assert clocks["first_response"].started_at == reopened_at
    # Mon 16, Tue 17, Wed 25, Thu 26, Fri 27 March: the end of the 27th in WIB.
    assert clocks["first_response"].due_at == datetime(2026, 3, 27, 16, 59, 59, 999999, tzinfo=UTC)
    assert clocks["completion"].due_at > clocks["first_response"].due_at + timedelta(days=7)
