"""The reporter's side of the conversation, in process against the real database: comments,
replies within the reply window, accepting, rating, reopening within 10 working days, reading
the agencies' follow-ups, following a complaint. Every refusal is a problem and changes
nothing."""

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.main import create_app
from services.clock import set_offset
from services.models import Complaint, ComplaintFollower, Event
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.privacy import hash_reporter_token
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_complaint, add_timeline_event, assign

TOKEN = "rpt_" + "k" * 43
REPORTER = Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(uuid.uuid4()))
STRANGER = Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(uuid.uuid4()))
AS_TOKEN = {"X-Reporter-Token": TOKEN}
# Resolved on Friday 13 March 2026, 10:00 WIB (Aceh): the 10 working days skip 18–24 March
# (Nyepi, Idul Fitri and cuti bersama) and Good Friday 3 April, so the last is Monday 6 April.
RESOLVED_AT = datetime(2026, 3, 13, 3, tzinfo=UTC)
LAST_DAY_EVENING = datetime(2026, 4, 6, 16, tzinfo=UTC)  # Mon 6 April, 23:00 WIB
NEXT_DAY = datetime(2026, 4, 6, 17, 30, tzinfo=UTC)  # Tue 7 April, 00:30 WIB


@pytest.fixture
async def time_travel(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with the platform clock under the test's control."""
    travelling = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"time_travel_enabled": True})
    )
    yield travelling
    await set_offset(travelling.settings, travelling.redis, timedelta(0))


async def at(runtime: Runtime, moment: datetime) -> None:
    await set_offset(runtime.settings, runtime.redis, moment - datetime.now(UTC))


def client(runtime: Runtime, principal: Principal = ANONYMOUS) -> httpx.AsyncClient:
    async def settle(_: httpx.Response) -> None:
        await runtime.publisher.close()

    c = service_client(create_app(runtime.settings), runtime, principal)
    c.event_hooks["response"].append(settle)
    return c


async def reported(session: AsyncSession, status: str, **fields: Any) -> Complaint:
    """A complaint of REPORTER's account (and TOKEN), assigned to an office."""
    complaint = await add_complaint(
        session,
        status=status,
        reporter_account_id=uuid.UUID(REPORTER.subject or ""),
        reporter_token_hash=hash_reporter_token(TOKEN),
        **fields,
    )
    await assign(session, complaint, "pemda-11.01", status="responded")
    return complaint


async def events_of(session: AsyncSession, complaint: Complaint, type_: str) -> list[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.complaint_id == complaint.id, Event.type == type_)
        .order_by(Event.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def status_of(session: AsyncSession, complaint: Complaint) -> str:
    await session.refresh(complaint)
    return complaint.status


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# --- comments ---------------------------------------------------------------------------------


async def test_the_reporter_comments_with_the_token_and_everyone_reads_it(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await reported(session, "in_progress")
    path = f"/api/v1/complaints/{complaint.tracking_id}/comments"

    async with client(runtime) as anonymous:
        posted = await anonymous.post(
            path, json={"body": " Lubangnya makin besar. "}, headers=AS_TOKEN
        )
        listed = await anonymous.get(path)

    assert posted.status_code == 201, posted.text
    assert posted.json()["author"] == "reporter"
    assert posted.json()["body"] == "Lubangnya makin besar."
    [comment] = listed.json()
    assert (comment["author"], comment["body"]) == ("reporter", "Lubangnya makin besar.")
    [event] = await events_of(session, complaint, "complaint.commented")
    assert event.data["author"] == "reporter"
    assert event.data["body"] == "Lubangnya makin besar."
    assert event.private_data is None


async def test_a_confidential_complaints_comment_stays_off_the_event_and_from_strangers(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await reported(session, "in_progress", confidential=True)
    path = f"/api/v1/complaints/{complaint.tracking_id}/comments"

    async with client(runtime, REPORTER) as reporter:
        posted = await reporter.post(path, json={"body": "Nama petugasnya Pak Budi."})
        own = await reporter.get(path)
    async with client(runtime, STRANGER) as stranger:
        theirs = await stranger.get(path)

    assert posted.status_code == 201, posted.text
    assert own.json()[0]["body"] == "Nama petugasnya Pak Budi."
    assert theirs.json()[0]["body"] is None
    [event] = await events_of(session, complaint, "complaint.commented")
    # What webhooks get carries no text; the row keeps it for the entitled readers.
    assert event.data["body"] is None
    assert event.private_data == {"body": "Nama petugasnya Pak Budi."}


async def test_only_the_reporter_comments_and_not_on_a_closed_complaint(
    runtime: Runtime, session: AsyncSession
) -> None:
    open_one = await reported(session, "in_progress")
    resolved = await reported(session, "resolved")

    async with client(runtime, STRANGER) as stranger:
        refused = await stranger.post(
            f"/api/v1/complaints/{open_one.tracking_id}/comments", json={"body": "Saya juga."}
        )
    async with client(runtime) as anonymous:
        wrong_token = await anonymous.post(
            f"/api/v1/complaints/{open_one.tracking_id}/comments",
            json={"body": "Saya juga."},
            headers={"X-Reporter-Token": "rpt_wrong"},
        )
        closed = await anonymous.post(
            f"/api/v1/complaints/{resolved.tracking_id}/comments",
            json={"body": "Terima kasih."},
            headers=AS_TOKEN,
        )
        empty = await anonymous.post(
            f"/api/v1/complaints/{open_one.tracking_id}/comments",
            json={"body": "   "},
            headers=AS_TOKEN,
        )

    problem(refused, 403, "not_reporter")
    problem(wrong_token, 403, "not_reporter")
    problem(closed, 409, "wrong_status")
    assert problem(empty, 422, "validation_failed")["errors"][0]["pointer"] == "/body"
    assert await events_of(session, open_one, "complaint.commented") == []
    assert await events_of(session, resolved, "complaint.commented") == []


# --- replies and acceptance -------------------------------------------------------------------


async def test_a_reply_sends_the_complaint_back_to_work(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await reported(session, "responded")

    async with client(runtime, REPORTER) as reporter:
        replied = await reporter.post(
            f"/api/v1/complaints/{complaint.tracking_id}/reply",
            json={"body": "Belum ditambal sampai hari ini."},
        )

    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "in_progress"
    assert replied.json()["timeline"][-1]["type"] == "complaint.reporter_replied"
    [event] = await events_of(session, complaint, "complaint.reporter_replied")
    assert event.data["previous_status"] == "responded"
    assert event.data["body"] == "Belum ditambal sampai hari ini."
    assert event.actor_role == "citizen"


async def test_a_reply_after_the_window_or_before_a_follow_up_is_refused(
    runtime: Runtime, session: AsyncSession
) -> None:
    closed = await reported(session, "resolved")
    working = await reported(session, "in_progress")

    async with client(runtime) as anonymous:
        late = await anonymous.post(
            f"/api/v1/complaints/{closed.tracking_id}/reply",
            json={"body": "Masih rusak."},
            headers=AS_TOKEN,
        )
        early = await anonymous.post(
            f"/api/v1/complaints/{working.tracking_id}/reply",
            json={"body": "Masih rusak."},
            headers=AS_TOKEN,
        )

    problem(late, 409, "reply_window_closed")
    problem(early, 409, "wrong_status")
    assert (await status_of(session, closed), await status_of(session, working)) == (
        "resolved",
        "in_progress",
    )
    assert await events_of(session, closed, "complaint.reporter_replied") == []


async def test_the_reporter_accepts_the_follow_up(runtime: Runtime, session: AsyncSession) -> None:
    complaint = await reported(session, "responded")

    async with client(runtime) as anonymous:
        accepted = await anonymous.post(
            f"/api/v1/complaints/{complaint.tracking_id}/accept", headers=AS_TOKEN
        )
        again = await anonymous.post(
            f"/api/v1/complaints/{complaint.tracking_id}/accept", headers=AS_TOKEN
        )

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "resolved"
    problem(again, 409, "wrong_status")
    assert len(await events_of(session, complaint, "complaint.resolution_accepted")) == 1


# --- rating -----------------------------------------------------------------------------------


async def test_a_resolved_complaint_is_rated_once(runtime: Runtime, session: AsyncSession) -> None:
    complaint = await reported(session, "resolved")
    path = f"/api/v1/complaints/{complaint.tracking_id}/rating"

    async with client(runtime, REPORTER) as reporter:
        rated = await reporter.post(path, json={"rating": 4, "comment": "Cukup cepat."})
        twice = await reporter.post(path, json={"rating": 5})

    assert rated.status_code == 201, rated.text
    assert (rated.json()["rating"], rated.json()["comment"]) == (4, "Cukup cepat.")
    problem(twice, 409, "already_rated")
    [event] = await events_of(session, complaint, "complaint.rated")
    assert (event.data["rating"], event.data["comment"]) == (4, "Cukup cepat.")


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, None])
async def test_a_rating_outside_one_to_five_names_the_field(
    runtime: Runtime, session: AsyncSession, rating: object
) -> None:
    complaint = await reported(session, "resolved")

    async with client(runtime, REPORTER) as reporter:
        refused = await reporter.post(
            f"/api/v1/complaints/{complaint.tracking_id}/rating", json={"rating": rating}
        )

    assert problem(refused, 422, "validation_failed")["errors"][0]["pointer"] == "/rating"
    assert await events_of(session, complaint, "complaint.rated") == []


async def test_only_a_resolved_complaint_is_rated_and_only_by_its_reporter(
    runtime: Runtime, session: AsyncSession
) -> None:
    working = await reported(session, "in_progress")
    resolved = await reported(session, "resolved")

    async with client(runtime, REPORTER) as reporter:
        early = await reporter.post(
            f"/api/v1/complaints/{working.tracking_id}/rating", json={"rating": 5}
        )
    async with client(runtime, STRANGER) as stranger:
        other = await stranger.post(
            f"/api/v1/complaints/{resolved.tracking_id}/rating", json={"rating": 1}
        )

    problem(early, 409, "wrong_status")
    problem(other, 403, "not_reporter")
    assert await events_of(session, working, "complaint.rated") == []
    assert await events_of(session, resolved, "complaint.rated") == []


# --- reopening --------------------------------------------------------------------------------


async def test_a_resolved_complaint_reopens_until_the_tenth_working_day_holidays_skipped(
    time_travel: Runtime, session: AsyncSession
) -> None:
    complaint = await reported(session, "resolved")
    await add_timeline_event(
        session, complaint, "complaint.resolved", at=RESOLVED_AT, data={"status": "resolved"}
    )
    await at(time_travel, LAST_DAY_EVENING)

    async with client(time_travel, REPORTER) as reporter:
        reopened = await reporter.post(
            f"/api/v1/complaints/{complaint.tracking_id}/reopen",
            json={"reason": "Tambalan rusak lagi."},
        )

    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "in_progress"
    [event] = await events_of(session, complaint, "complaint.reopened")
    assert (event.data["previous_status"], event.data["reason"]) == (
        "resolved",
        "Tambalan rusak lagi.",
    )


async def test_reopening_after_the_tenth_working_day_is_refused(
    time_travel: Runtime, session: AsyncSession
) -> None:
    complaint = await reported(session, "resolved")
    await add_timeline_event(
        session,
        complaint,
        "complaint.resolution_accepted",
        at=RESOLVED_AT,
        data={"status": "resolved"},
    )
    await at(time_travel, NEXT_DAY)

    async with client(time_travel) as anonymous:
        late = await anonymous.post(
            f"/api/v1/complaints/{complaint.tracking_id}/reopen",
            json={"reason": "Tambalan rusak lagi."},
            headers=AS_TOKEN,
        )

    assert "2026-04-06T16:59:59" in problem(late, 409, "reopen_window_closed")["detail"]
    assert await status_of(session, complaint) == "resolved"
    assert await events_of(session, complaint, "complaint.reopened") == []


async def test_only_a_resolved_complaint_reopens(runtime: Runtime, session: AsyncSession) -> None:
    complaint = await reported(session, "responded")

    async with client(runtime, REPORTER) as reporter:
        refused = await reporter.post(
            f"/api/v1/complaints/{complaint.tracking_id}/reopen", json={"reason": "Belum beres."}
        )

    problem(refused, 409, "wrong_status")
    assert await status_of(session, complaint) == "responded"


# --- the agencies' follow-ups -----------------------------------------------------------------


async def test_the_reporter_reads_a_confidential_complaints_follow_up_and_a_stranger_does_not(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await reported(session, "responded", confidential=True)
    agency = {"id": str(uuid.uuid4()), "code": "pemda-11.01", "name": "Pemkab Aceh Selatan"}
    await add_timeline_event(
        session,
        complaint,
        "complaint.followed_up",
        data={"agency": agency, "text": None},
        private_data={"text": "Petugas telah diperiksa Inspektorat."},
    )
    path = f"/api/v1/complaints/{complaint.tracking_id}/follow-ups"

    async with client(runtime) as anonymous:
        as_reporter = await anonymous.get(path, headers=AS_TOKEN)
        as_public = await anonymous.get(path)

    [mine] = as_reporter.json()
    assert mine["text"] == "Petugas telah diperiksa Inspektorat."
    assert mine["agency"]["code"] == "pemda-11.01"
    assert as_public.json()[0]["text"] is None


# --- following --------------------------------------------------------------------------------


async def test_a_citizen_follows_a_complaint_once_and_stops(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await reported(session, "dispositioned")
    path = f"/api/v1/complaints/{complaint.tracking_id}/follow"

    async with client(runtime, STRANGER) as citizen:
        first = await citizen.post(path)
        second = await citizen.post(path)
        listed = await citizen.get("/api/v1/me/complaints/following")
        stopped = await citizen.delete(path)
        after = await citizen.get("/api/v1/me/complaints/following")

    assert (first.status_code, second.status_code) == (201, 200), first.text
    assert first.json()["following"] is True
    assert [c["tracking_id"] for c in listed.json()["items"]] == [complaint.tracking_id]
    assert stopped.status_code == 204
    assert after.json()["items"] == []
    [followed] = await events_of(session, complaint, "complaint.followed")
    assert followed.data["account_id"] == STRANGER.subject
    assert len(await events_of(session, complaint, "complaint.unfollowed")) == 1


async def test_following_needs_an_account_and_a_complaint_one_may_follow(
    runtime: Runtime, session: AsyncSession
) -> None:
    confidential = await reported(session, "dispositioned", confidential=True)
    duplicate = await reported(session, "duplicate")

    async with client(runtime) as anonymous:
        nobody = await anonymous.post(f"/api/v1/complaints/{confidential.tracking_id}/follow")
    async with client(runtime, STRANGER) as citizen:
        secret = await citizen.post(f"/api/v1/complaints/{confidential.tracking_id}/follow")
        final = await citizen.post(f"/api/v1/complaints/{duplicate.tracking_id}/follow")
        unknown = await citizen.post("/api/v1/complaints/ADN-00000000/follow")

    problem(nobody, 401, "unauthenticated")
    problem(secret, 403, "forbidden")
    problem(final, 409, "wrong_status")
    problem(unknown, 404, "not_found")
    followers = await session.scalars(
        select(ComplaintFollower).where(
            ComplaintFollower.complaint_id.in_([confidential.id, duplicate.id])
        )
    )
    assert list(followers) == []
