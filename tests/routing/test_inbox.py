"""The agency inbox in process: what an agency sees (its own and its offices' complaints, with
assignments and clocks, filtered and paged) and what each action does to the complaint, the
assignments and the timeline."""

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.disposition.engine import DispositionEngine, NoAgency
from routing.main import create_app
from services.models import Complaint, ComplaintAgency, Event
from services.principal import Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_clock, add_complaint, add_office, agency_id, assign

BASE = "/api/v1/agency/complaints"


def staff(role: Role, agency: uuid.UUID, *below: uuid.UUID) -> Principal:
    kind = PrincipalKind.api_key if role is Role.agency else PrincipalKind.user
    return Principal(
        kind=kind,
        role=role,
        subject=str(uuid.uuid4()),
        agency_id=agency,
        agency_ids=(agency, *below),
    )


ADMIN = Principal(kind=PrincipalKind.user, role=Role.admin, subject="admin")


def client(runtime: Runtime, principal: Principal) -> httpx.AsyncClient:
    """A client whose every answer waits for the publisher's batched marks, which share the
    test's connection with the test's own queries."""

    async def settle(_: httpx.Response) -> None:
        await runtime.publisher.close()

    c = service_client(create_app(runtime.settings), runtime, principal)
    c.event_hooks["response"].append(settle)
    return c


async def listed(runtime: Runtime, principal: Principal, query: str = "") -> list[str]:
    async with client(runtime, principal) as c:
        response = await c.get(BASE + query)
    assert response.status_code == 200, response.text
    return [item["tracking_id"] for item in response.json()["items"]]


async def events_of(session: AsyncSession, complaint: Complaint) -> list[Event]:
    rows = await session.scalars(
        select(Event).where(Event.complaint_id == complaint.id).order_by(Event.id)
    )
    return list(rows)


async def assignments_of(session: AsyncSession, complaint: Complaint) -> list[ComplaintAgency]:
    rows = await session.scalars(
        select(ComplaintAgency)
        .where(ComplaintAgency.complaint_id == complaint.id)
        .order_by(ComplaintAgency.assigned_at)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def test_an_agency_lists_its_own_and_its_offices_complaints_with_clocks(
    runtime: Runtime, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    office = await add_office(session, "pemda-11.01", "dinas_pupr")
    elsewhere = await agency_id(session, "pemda-32.01")
    own = await add_complaint(session, status="dispositioned")
    await assign(session, own, "pemda-11.01")
    at_office = await add_complaint(session, status="in_progress", category="kesehatan")
    await assign(session, at_office, office.code)
    clock = await add_clock(session, at_office, agency_id=office.id, due_in=timedelta(hours=-2))
    watched = await add_complaint(session, status="dispositioned")
    await assign(session, watched, "pemda-32.01")
    await assign(session, watched, "pemda-11.01", role="escalation")
    ended = await add_complaint(session, status="dispositioned")
    await assign(session, ended, "pemda-11.01", active=False, status="returned")
    foreign = await add_complaint(session, status="dispositioned", region_code="32.01.01")
    await assign(session, foreign, "pemda-32.01")
    await session.commit()

    government = staff(Role.coordinator, regency, office.id)
    seen = await listed(runtime, government)
    assert seen[:3] == [watched.tracking_id, at_office.tracking_id, own.tracking_id]
    assert ended.tracking_id not in seen and foreign.tracking_id not in seen
    # The office sees its own complaint, not its parent's. (Other tests' complaints at the
    # same office may be in the shared database: they are older, so listed after it.)
    at_the_office = await listed(runtime, staff(Role.liaison, office.id))
    assert at_the_office[0] == at_office.tracking_id
    assert {own.tracking_id, watched.tracking_id, foreign.tracking_id} & set(at_the_office) == set()
    assert foreign.tracking_id in await listed(runtime, staff(Role.agency, elsewhere))
    assert {own.tracking_id, foreign.tracking_id} <= set(await listed(runtime, ADMIN))

    async with client(runtime, government) as c:
        body = (await c.get(BASE, params={"overdue": "true"})).json()
    assert [i["tracking_id"] for i in body["items"]] == [at_office.tracking_id]
    item = body["items"][0]
    assert item["overdue"] is True
    assert item["clocks"] == [
        {
            "kind": "first_response",
            "agency_id": str(office.id),
            "due_at": item["clocks"][0]["due_at"],
            "paused": False,
            "overdue": True,
        }
    ]
    assert item["clocks"][0]["due_at"].startswith(clock.due_at.isoformat()[:16])
    assert [(a["agency_code"], a["role"], a["status"]) for a in item["assignments"]] == [
        (office.code, "handler", "assigned")
    ]
    assert at_office.tracking_id not in await listed(runtime, government, "?overdue=false")
    assert await listed(runtime, government, "?category=kesehatan") == [at_office.tracking_id]
    assert await listed(runtime, government, "?status=in_progress") == [at_office.tracking_id]
    both = await listed(runtime, government, "?status=in_progress&status=dispositioned")
    assert set(both[:3]) == {own.tracking_id, at_office.tracking_id, watched.tracking_id}
    assert await listed(runtime, government, "?region_code=32") == []
    today = date.today().isoformat()
    assert own.tracking_id in await listed(runtime, government, f"?created_from={today}")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert await listed(runtime, government, f"?created_to={yesterday}") == []
    watcher = await listed(runtime, government, "?limit=1")
    assert watcher == [watched.tracking_id]


async def test_the_list_pages_by_cursor(runtime: Runtime, session: AsyncSession) -> None:
    office = await add_office(session, "pemda-11.01", "dinas_sosial")
    made = []
    for _ in range(3):
        complaint = await add_complaint(session, status="dispositioned")
        await assign(session, complaint, office.code)
        made.append(complaint.tracking_id)
    await session.commit()
    liaison = staff(Role.liaison, office.id)

    seen: list[str] = []
    cursor: str | None = None
    async with client(runtime, liaison) as c:
        for _ in range(3):
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await c.get(BASE, params=params)).json()
            seen += [i["tracking_id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        bad = await c.get(BASE, params={"cursor": "bm90LWEtdXVpZA"})
    assert seen == list(reversed(made))
    assert bad.status_code == 422


async def test_the_detail_is_the_assigned_agencys_view(
    runtime: Runtime, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    complaint = await add_complaint(
        session,
        status="dispositioned",
        confidential=True,
        reporter_phone="+6281234567890",
        returns_count=1,
    )
    await assign(session, complaint, "pemda-11.01")
    anonymous = await add_complaint(session, status="dispositioned", anonymous=True)
    await assign(session, anonymous, "pemda-11.01")
    await session.commit()

    async with client(runtime, staff(Role.liaison, regency)) as c:
        body = (await c.get(f"{BASE}/{complaint.tracking_id.lower()}")).json()
        hidden = (await c.get(f"{BASE}/{anonymous.tracking_id}")).json()
    assert body["title"] == complaint.title and body["description"] == complaint.description
    assert body["reporter"] == {"name": "Siti", "email": None, "phone": None}
    assert "siti@example.id" not in str(body) and "+6281234567890" not in str(body)
    assert body["returns_count"] == 1
    assert [a["agency_code"] for a in body["all_assignments"]] == ["pemda-11.01"]
    assert hidden["reporter"] is None
    async with client(runtime, ADMIN) as c:
        full = (await c.get(f"{BASE}/{complaint.tracking_id}")).json()
    assert full["reporter"]["email"] == "siti@example.id"


async def test_accept_follow_up_and_resolve_move_the_complaint_and_the_assignment(
    runtime: Runtime, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    complaint = await add_complaint(session, status="dispositioned")
    await assign(session, complaint, "pemda-11.01")
    confidential = await add_complaint(session, status="in_progress", confidential=True)
    await assign(session, confidential, "pemda-11.01", status="accepted")
    await session.commit()
    liaison = staff(Role.liaison, regency)
    path = f"{BASE}/{complaint.tracking_id}"

    async with client(runtime, liaison) as c:
        accepted = await c.post(f"{path}/accept", json={})
        again = await c.post(f"{path}/accept", json={})
        short = await c.post(f"{path}/follow-ups", json={"text": "singkat"})
        followed = await c.post(
            f"{path}/follow-ups", json={"text": "Lubang telah ditambal oleh tim lapangan."}
        )
        resolved = await c.post(f"{path}/resolve", json={"reason": "Selesai dikerjakan"})
        late = await c.post(f"{path}/accept", json={})
        secret = await c.post(
            f"{BASE}/{confidential.tracking_id}/follow-ups",
            json={"text": "Isi rahasia yang tidak boleh ke webhook."},
        )

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "in_progress"
    assert accepted.json()["assignments"][0]["status"] == "accepted"
    assert again.status_code == 409
    assert short.status_code == 422
    assert followed.status_code == 200 and followed.json()["status"] == "responded"
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert resolved.json()["assignments"][0]["status"] == "resolved"
    assert late.status_code == 409
    assert late.headers["content-type"] == "application/problem+json"
    timeline = resolved.json()["timeline"]
    assert [(e["type"], e["status"], e["actor"], e["actor_role"]) for e in timeline] == [
        ("complaint.accepted", "in_progress", "agency", "liaison"),
        ("complaint.followed_up", "responded", "agency", "liaison"),
        ("complaint.resolved", "resolved", "agency", "liaison"),
    ]
    assert timeline[1]["details"]["text"] == "Lubang telah ditambal oleh tim lapangan."
    assert timeline[2]["reason"] == "Selesai dikerjakan"
    assert [f["text"] for f in resolved.json()["follow_ups"]] == [
        "Lubang telah ditambal oleh tim lapangan."
    ]
    # A confidential complaint's follow-up is kept for the agency (and later the reporter),
    # its text out of the event that webhooks carry.
    assert secret.status_code == 200
    (kept,) = secret.json()["follow_ups"]
    assert kept["text"] == "Isi rahasia yang tidak boleh ke webhook."
    assert kept["actor_role"] == "liaison"
    (event,) = [
        e for e in await events_of(session, confidential) if e.type == "complaint.followed_up"
    ]
    assert event.data["text"] is None
    assert event.data["follow_up_id"] == kept["id"]
    assert "rahasia" not in str(event.data)


async def test_a_coordinator_delegates_to_its_office_which_then_acts(
    runtime: Runtime, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    office = await add_office(session, "pemda-11.01", "dinas_pupr")
    foreign_office = await add_office(session, "pemda-32.01", "dinas_pupr")
    complaint = await add_complaint(session, status="dispositioned")
    await assign(session, complaint, "pemda-11.01")
    await session.commit()
    coordinator = staff(Role.coordinator, regency, office.id)
    path = f"{BASE}/{complaint.tracking_id}"

    async with client(runtime, staff(Role.liaison, regency, office.id)) as c:
        by_liaison = await c.post(f"{path}/delegate", json={"office_id": str(office.id)})
    async with client(runtime, coordinator) as c:
        outside = await c.post(f"{path}/delegate", json={"office_id": str(foreign_office.id)})
        itself = await c.post(f"{path}/delegate", json={"office_id": str(regency)})
        delegated = await c.post(f"{path}/delegate", json={"office_id": str(office.id)})
        twice = await c.post(f"{path}/delegate", json={"office_id": str(office.id)})
    async with client(runtime, staff(Role.liaison, office.id)) as c:
        accepted = await c.post(f"{path}/accept", json={})

    assert by_liaison.status_code == 403
    assert outside.status_code == 422 and itself.status_code == 422
    assert delegated.status_code == 200, delegated.text
    assert twice.status_code == 409
    rows = {a.agency_id: a for a in await assignments_of(session, complaint)}
    assert rows[regency].status == "delegated" and rows[regency].active
    assert rows[office.id].source_id == rows[regency].id
    assert rows[office.id].status == "accepted"
    assert accepted.json()["status"] == "in_progress"
    (event,) = [e for e in await events_of(session, complaint) if e.type == "complaint.delegated"]
    assert event.data["to_agency"]["code"] == office.code
    assert event.data["from_agency"]["code"] == "pemda-11.01"
    assert event.actor_role == "coordinator"


async def test_return_naming_the_right_agency_reroutes_and_counts(
    runtime: Runtime, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    right = await agency_id(session, "pemda-11.02")
    complaint = await add_complaint(session, status="dispositioned")
    await assign(session, complaint, "pemda-11.01")
    await session.commit()
    path = f"{BASE}/{complaint.tracking_id}"

    async with client(runtime, staff(Role.liaison, regency)) as c:
        same = await c.post(
            f"{path}/return", json={"reason": "bukan wewenang", "agency_id": str(regency)}
        )
        unknown = await c.post(
            f"{path}/return", json={"reason": "bukan wewenang", "agency_id": str(uuid.uuid4())}
        )
        returned = await c.post(
            f"{path}/return",
            json={"reason": "Lokasi di Kabupaten Aceh Tenggara", "agency_id": str(right)},
        )
        gone = await c.get(path)
    async with client(runtime, staff(Role.agency, right)) as c:
        arrived = await c.get(path)

    assert same.status_code == 422 and unknown.status_code == 422
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "dispositioned"
    assert returned.json()["returns_count"] == 1
    assert [a["agency_id"] for a in returned.json()["agencies"]] == [str(right)]
    assert gone.status_code == 404
    assert arrived.status_code == 200 and arrived.json()["returns_count"] == 1
    timeline = arrived.json()["timeline"]
    assert [(e["type"], e["status"]) for e in timeline] == [
        ("complaint.returned", "returned"),
        ("complaint.dispositioned", "dispositioned"),
    ]
    assert timeline[0]["reason"] == "Lokasi di Kabupaten Aceh Tenggara"
    assert "Lokasi di Kabupaten Aceh Tenggara" in timeline[1]["reason"]
    assert timeline[1]["details"]["from_agency"]["code"] == "pemda-11.01"
    assert timeline[1]["details"]["to_agency"]["id"] == str(right)
    old = [a for a in await assignments_of(session, complaint) if a.agency_id == regency]
    assert [(a.active, a.status, a.ended_at is not None) for a in old] == [
        (False, "returned", True)
    ]


async def test_return_without_an_agency_goes_back_to_the_delegator_or_to_verification(
    runtime: Runtime, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    office = await add_office(session, "pemda-11.01", "dinas_pupr")
    delegated = await add_complaint(session, status="in_progress")
    await assign(session, delegated, "pemda-11.01")
    await session.commit()
    async with client(runtime, staff(Role.coordinator, regency, office.id)) as c:
        r = await c.post(
            f"{BASE}/{delegated.tracking_id}/delegate", json={"office_id": str(office.id)}
        )
        assert r.status_code == 200, r.text
    async with client(runtime, staff(Role.liaison, office.id)) as c:
        back_up = await c.post(
            f"{BASE}/{delegated.tracking_id}/return", json={"reason": "Bukan urusan PUPR"}
        )
    assert back_up.status_code == 200, back_up.text
    assert back_up.json()["status"] == "in_progress"
    assert [(a["agency_id"], a["status"]) for a in back_up.json()["agencies"]] == [
        (str(regency), "assigned")
    ]

    async with client(runtime, staff(Role.coordinator, regency, office.id)) as c:
        onwards = await c.post(
            f"{BASE}/{delegated.tracking_id}/return", json={"reason": "Bukan urusan pemda"}
        )
    assert onwards.status_code == 200, onwards.text
    body = onwards.json()
    assert body["status"] == "dispositioned" and body["returns_count"] == 2
    (now_at,) = body["agencies"]
    # Not the government's, and none of its offices either.
    assert now_at["agency_id"] not in {str(regency), str(office.id)}
    assert not now_at["agency_code"].startswith("pemda-11.01")
    events = await events_of(session, delegated)
    assert [e.type for e in events[-2:]] == ["complaint.returned", "complaint.dispositioned"]
    candidate = events[-1].data["next_candidate"]
    assert candidate["agency"]["id"] == now_at["agency_id"]
    assert candidate["chosen_by"] in {"rule", "default"}
    assert "Bukan urusan pemda" in events[-1].data["reason"]


async def test_return_with_no_candidate_left_goes_back_to_verification(
    runtime: Runtime, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def nobody(*_: Any, **__: Any) -> None:
        raise NoAgency("every candidate returned it")

    monkeypatch.setattr(DispositionEngine, "choose", nobody)
    regency = await agency_id(session, "pemda-11.01")
    complaint = await add_complaint(session, status="dispositioned")
    await assign(session, complaint, "pemda-11.01")
    await session.commit()

    async with client(runtime, staff(Role.liaison, regency)) as c:
        returned = await c.post(
            f"{BASE}/{complaint.tracking_id}/return", json={"reason": "Bukan urusan pemda"}
        )
        gone = await c.get(f"{BASE}/{complaint.tracking_id}")
    assert returned.status_code == 200, returned.text
    assert returned.json() == {
        "tracking_id": complaint.tracking_id,
        "status": "submitted",
        "status_label": "Belum Terverifikasi",
        "returns_count": 1,
        "agencies": [],
    }
    assert gone.status_code == 404
    events = await events_of(session, complaint)
    assert [e.type for e in events] == ["complaint.returned", "complaint.verification_required"]
    assert events[1].data["to_agency"] is None
    assert complaint.tracking_id not in await listed(runtime, ADMIN, "?status=submitted")


async def test_hold_and_resume(runtime: Runtime, session: AsyncSession) -> None:
    regency = await agency_id(session, "pemda-11.01")
    complaint = await add_complaint(session, status="in_progress")
    await assign(session, complaint, "pemda-11.01", status="accepted")
    await session.commit()
    path = f"{BASE}/{complaint.tracking_id}"
    tomorrow = (date.today() + timedelta(days=7)).isoformat()

    async with client(runtime, staff(Role.agency, regency)) as c:
        past = await c.post(f"{path}/hold", json={"reason": "menunggu", "resume_on": "2020-01-01"})
        held = await c.post(f"{path}/hold", json={"reason": "Menunggu", "resume_on": tomorrow})
        twice = await c.post(f"{path}/hold", json={"reason": "Menunggu", "resume_on": tomorrow})
        resumed = await c.post(f"{path}/resume", json={})
        not_held = await c.post(f"{path}/resume", json={})

    assert past.status_code == 422
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "on_hold"
    assert held.json()["held_from_status"] == "in_progress"
    assert held.json()["resume_on"] == tomorrow
    assert held.json()["timeline"][-1]["details"]["resume_on"] == tomorrow
    assert twice.status_code == 409
    assert resumed.status_code == 200 and resumed.json()["status"] == "in_progress"
    assert resumed.json()["held_from_status"] is None
    assert not_held.status_code == 409
