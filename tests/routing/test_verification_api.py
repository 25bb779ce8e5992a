"""The verification queue in process: who sees which complaints (admins all, a coordinator its
agency's region), what each action does to the complaint and its timeline, and what it refuses."""

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.disposition.repository import clear_caches
from routing.main import create_app
from services.models import Complaint, ComplaintAgency, Event
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_complaint, add_event, agency_id, assign

BASE = "/api/v1/verification/complaints"
ADMIN = Principal(kind=PrincipalKind.user, role=Role.admin, subject="admin-1")


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


async def coordinator(session: AsyncSession, code: str) -> Principal:
    agency = await agency_id(session, code)
    return Principal(
        kind=PrincipalKind.user,
        role=Role.coordinator,
        subject=str(uuid.uuid4()),
        agency_id=agency,
        agency_ids=(agency,),
    )


def client(runtime: Runtime, principal: Principal) -> httpx.AsyncClient:
    return service_client(create_app(runtime.settings), runtime, principal)


async def queued(session: AsyncSession, *reasons: str, **fields: object) -> Complaint:
    """A submitted complaint the worker sent to the queue for `reasons`."""
    complaint = await add_complaint(session, **fields)  # type: ignore[arg-type]
    await add_event(session, complaint=complaint)
    await add_event(
        session,
        "complaint.verification_required",
        complaint=complaint,
        data={"reasons": list(reasons), "flagged_words": []},
    )
    return complaint


async def timeline(session: AsyncSession, complaint: Complaint) -> list[Event]:
    rows = await session.scalars(
        select(Event).where(Event.complaint_id == complaint.id).order_by(Event.id)
    )
    return list(rows)


async def reloaded(session: AsyncSession, complaint: Complaint) -> Complaint:
    await session.refresh(complaint)
    return complaint


async def test_admins_list_the_queue_with_reasons_filters_and_pages(
    runtime: Runtime, session: AsyncSession
) -> None:
    first = await queued(
        session, "category_policy", region_code="51.71.01", category="korupsi_pungli"
    )
    second = await queued(session, "flagged_words", region_code="51.71.02")
    third = await queued(session, "low_confidence", region_code="51.03", category="lainnya")
    await add_complaint(session, region_code="51.71.03", status="dispositioned")

    async with client(runtime, ADMIN) as c:
        everything = await c.get(BASE, params={"region_code": "51"})
        flagged = await c.get(BASE, params={"region_code": "51", "reason": "flagged_words"})
        pungli = await c.get(BASE, params={"region_code": "51", "category": "korupsi_pungli"})
        in_kota = await c.get(BASE, params={"region_code": "51.71"})
        page_one = await c.get(BASE, params={"region_code": "51", "limit": 2})
        page_two = await c.get(
            BASE, params={"region_code": "51", "limit": 2, "cursor": page_one.json()["next_cursor"]}
        )
        today = await c.get(
            BASE,
            params={"region_code": "51", "since": str(date.today()), "until": str(date.today())},
        )
        tomorrow = await c.get(
            BASE, params={"region_code": "51", "since": str(date.today() + timedelta(days=1))}
        )

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item["tracking_id"] for item in response.json()["items"]]

    order = [first.tracking_id, second.tracking_id, third.tracking_id]
    assert ids(everything) == order
    item = everything.json()["items"][0]
    assert item["reasons"] == ["category_policy"]
    assert item["reporter"]["email"] == "siti@example.id"  # admins see everything
    assert item["status_label"] == "Belum Terverifikasi"
    assert ids(flagged) == [second.tracking_id]
    assert ids(pungli) == [first.tracking_id]
    assert ids(in_kota) == order[:2]
    assert ids(page_one) + ids(page_two) == order
    assert page_two.json()["next_cursor"] is None
    assert ids(today) == order
    assert ids(tomorrow) == []


async def test_a_coordinator_sees_its_region_only_and_what_another_agency_may_see(
    runtime: Runtime, session: AsyncSession
) -> None:
    inside = await queued(
        session, "category_policy", region_code="11.01.01", confidential=True, anonymous=True
    )
    outside = await queued(session, "category_policy", region_code="11.02.01")
    principal = await coordinator(session, "pemda-11.01")

    async with client(runtime, principal) as c:
        listed = await c.get(BASE, params={"region_code": "11"})
        verify_outside = await c.post(f"{BASE}/{outside.tracking_id}/verify", json={})

    assert listed.status_code == 200, listed.text
    items = [
        i
        for i in listed.json()["items"]
        if i["tracking_id"] in {inside.tracking_id, outside.tracking_id}
    ]
    assert [i["tracking_id"] for i in items] == [inside.tracking_id]
    assert items[0]["title"] is None and items[0]["reporter"] is None
    assert set(items[0]["redacted"]) >= {"title", "description", "reporter"}
    assert verify_outside.status_code == 404
    assert (await reloaded(session, outside)).status == "submitted"


@pytest.mark.parametrize(
    ("principal", "status"),
    [
        (ANONYMOUS, 401),
        (Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(uuid.uuid4())), 403),
        (Principal(kind=PrincipalKind.user, role=Role.liaison, subject="l"), 403),
        (Principal(kind=PrincipalKind.api_key, role=Role.agency, subject="k"), 403),
        (Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="o"), 403),
    ],
    ids=["anonymous", "citizen", "liaison", "agency key", "ops"],
)
async def test_only_admins_and_coordinators_verify(
    runtime: Runtime, session: AsyncSession, principal: Principal, status: int
) -> None:
    complaint = await queued(session, "category_policy")
    async with client(runtime, principal) as c:
        listed = await c.get(BASE)
        verified = await c.post(f"{BASE}/{complaint.tracking_id}/verify", json={})

    assert (listed.status_code, verified.status_code) == (status, status)


async def test_verifying_with_a_corrected_category_dispositions_by_the_rules(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await queued(session, "low_confidence", category="lainnya")
    principal = await coordinator(session, "pemda-11.01")

    async with client(runtime, principal) as c:
        response = await c.post(
            f"{BASE}/{complaint.tracking_id}/verify",
            json={"category": "lingkungan_hidup", "reason": "sampah menumpuk di sungai"},
        )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["category"]) == ("dispositioned", "lingkungan_hidup")
    assert body["agency"]["code"] == "pemda-11.01.dinas-lingkungan-hidup"
    assert body["rule_id"]
    events = await timeline(session, complaint)
    assert [e.type for e in events][-3:] == [
        "complaint.classified",
        "complaint.verified",
        "complaint.dispositioned",
    ]
    classified, verified, dispositioned = events[-3:]
    assert classified.data["method"] == "verifier"
    assert verified.data["reason"] == "sampah menumpuk di sungai"
    assert (verified.actor_role, verified.actor_id) == ("coordinator", principal.subject)
    assert dispositioned.data["disposition"]["rule"]["id"] == body["rule_id"]


async def test_verifying_to_a_chosen_agency_honours_it_when_it_covers_the_region(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await queued(session, "category_policy", category="korupsi_pungli")
    stranger = await queued(session, "category_policy", category="korupsi_pungli")
    kpk = await agency_id(session, "kpk")
    elsewhere = await agency_id(session, "pemda-32.01.inspektorat")

    async with client(runtime, ADMIN) as c:
        chosen = await c.post(
            f"{BASE}/{complaint.tracking_id}/verify", json={"target_agency_id": str(kpk)}
        )
        refused = await c.post(
            f"{BASE}/{stranger.tracking_id}/verify", json={"target_agency_id": str(elsewhere)}
        )

    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["agency"]["code"], chosen.json()["rule_id"]) == ("kpk", None)
    assignment = await session.scalar(
        select(ComplaintAgency).where(ComplaintAgency.complaint_id == complaint.id)
    )
    assert assignment is not None
    assert (assignment.agency_id, assignment.role, assignment.status) == (
        kpk,
        "handler",
        "assigned",
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/target_agency_id"
    assert (await reloaded(session, stranger)).status == "submitted"


async def test_hold_and_resume_come_back_to_the_queue(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await queued(session, "incomplete")
    resume_on = date.today() + timedelta(days=7)

    async with client(runtime, ADMIN) as c:
        held = await c.post(
            f"{BASE}/{complaint.tracking_id}/hold",
            json={"reason": "menunggu konfirmasi lokasi", "resume_on": str(resume_on)},
        )
        on_hold = await c.get(BASE, params={"status": "on_hold", "region_code": "11.01"})
        held_again = await c.post(
            f"{BASE}/{complaint.tracking_id}/hold",
            json={"reason": "lagi", "resume_on": str(resume_on)},
        )
        resumed = await c.post(f"{BASE}/{complaint.tracking_id}/resume", json={})

    assert held.status_code == 200, held.text
    [item] = [i for i in on_hold.json()["items"] if i["tracking_id"] == complaint.tracking_id]
    assert (item["status"], item["held_from_status"], item["resume_on"]) == (
        "on_hold",
        "submitted",
        str(resume_on),
    )
    assert held_again.status_code == 409
    assert resumed.status_code == 200, resumed.text
    stored = await reloaded(session, complaint)
    assert (stored.status, stored.held_from_status, stored.resume_on) == ("submitted", None, None)
    events = await timeline(session, complaint)
    assert [e.type for e in events][-2:] == ["complaint.held", "complaint.resumed"]
    assert events[-2].data["resume_on"] == str(resume_on)
    assert events[-2].data["reason"] == "menunggu konfirmasi lokasi"
    assert events[-2].actor_role == "admin"


async def test_a_hold_needs_a_resume_date_not_in_the_past(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await queued(session, "incomplete")
    async with client(runtime, ADMIN) as c:
        response = await c.post(
            f"{BASE}/{complaint.tracking_id}/hold",
            json={"reason": "tunda", "resume_on": str(date.today() - timedelta(days=1))},
        )
    assert response.status_code == 422


async def test_archive_with_a_reason_code_or_as_a_duplicate(
    runtime: Runtime, session: AsyncSession
) -> None:
    spam = await queued(session, "flagged_words")
    original = await add_complaint(session, status="dispositioned")
    repeat = await queued(session, "category_policy")

    async with client(runtime, ADMIN) as c:
        archived = await c.post(f"{BASE}/{spam.tracking_id}/archive", json={"reason_code": "spam"})
        missing = await c.post(
            f"{BASE}/{repeat.tracking_id}/archive", json={"reason_code": "duplicate"}
        )
        unknown = await c.post(
            f"{BASE}/{repeat.tracking_id}/archive",
            json={"reason_code": "duplicate", "duplicate_of": "ADN-00000000"},
        )
        duplicate = await c.post(
            f"{BASE}/{repeat.tracking_id}/archive",
            json={"reason_code": "duplicate", "duplicate_of": original.tracking_id.lower()},
        )
        again = await c.post(f"{BASE}/{spam.tracking_id}/archive", json={"reason_code": "spam"})

    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    event = (await timeline(session, spam))[-1]
    assert (event.type, event.data["reason_code"], event.data["reason"]) == (
        "complaint.archived",
        "spam",
        "spam",
    )
    assert (missing.status_code, unknown.status_code) == (422, 422)
    assert duplicate.status_code == 200, duplicate.text
    assert duplicate.json()["status"] == "duplicate"
    assert (await timeline(session, repeat))[-1].data["duplicate_of"] == original.tracking_id
    assert again.status_code == 409


async def test_asking_the_reporter_keeps_the_complaint_in_the_queue(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await queued(session, "incomplete")
    question = "Mohon sebutkan nama desa dan patokan lokasi jalan yang rusak."

    async with client(runtime, ADMIN) as c:
        response = await c.post(
            f"{BASE}/{complaint.tracking_id}/request-info", json={"question": question}
        )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted"
    event = (await timeline(session, complaint))[-1]
    assert (event.type, event.data["question"], event.actor_role) == (
        "complaint.info_requested",
        question,
        "admin",
    )


async def test_actions_on_a_complaint_past_verification_are_illegal(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, status="dispositioned")
    async with client(runtime, ADMIN) as c:
        answers = [
            (await c.post(f"{BASE}/{complaint.tracking_id}/{action}", json=body)).status_code
            for action, body in [
                ("verify", {}),
                ("archive", {"reason_code": "not_actionable"}),
                ("request-info", {"question": "Apakah masih terjadi sampai sekarang?"}),
                ("resume", {}),
            ]
        ]
        unknown = await c.post(f"{BASE}/ADN-00000000/verify", json={})
    assert answers == [409, 409, 409, 409]
    assert unknown.status_code == 404


async def test_verifying_a_returned_complaint_skips_the_agency_that_sent_it_back(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await queued(session, "category_policy")
    await assign(session, complaint, "pemda-11.01.dinas-pupr", active=False, status="returned")

    async with client(runtime, ADMIN) as c:
        response = await c.post(f"{BASE}/{complaint.tracking_id}/verify", json={})

    assert response.status_code == 200, response.text
    assert response.json()["agency"]["code"] == "pemda-11.01"
