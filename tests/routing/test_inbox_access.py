"""Acceptance 5 (the inbox's half): an agency neither sees nor acts on another agency's
complaints. For the list, the detail and EVERY action, a stranger agency's coordinator, liaison
and API key get 404 (the list simply does not show it), and the complaint is untouched; roles
outside the agency workflow get 401/403 before anything is looked up.

In process, with principals signed as the gateway would (tests/conftest.py service_client).
The expected answers are written by hand."""

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.main import create_app
from services.models import Complaint, ComplaintAgency, Event
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_complaint, add_office, agency_id, assign

BASE = "/api/v1/agency/complaints"
RESUME_ON = (date.today() + timedelta(days=14)).isoformat()


def actions(office: uuid.UUID, elsewhere_office: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Every action with a body that would succeed for the owner."""
    return {
        "accept": {},
        "follow-ups": {"text": "Sudah kami tindak lanjuti di lapangan."},
        "resolve": {"reason": "Selesai"},
        "return": {"reason": "Bukan wewenang kami"},
        "return-named": {"reason": "Bukan wewenang kami", "agency_id": str(elsewhere_office)},
        "delegate": {"office_id": str(office)},
        "delegate-own-office": {"office_id": str(elsewhere_office)},
        "hold": {"reason": "Menunggu anggaran", "resume_on": RESUME_ON},
        "resume": {},
    }


def strangers(elsewhere: uuid.UUID, elsewhere_office: uuid.UUID) -> dict[str, Principal]:
    def staff(role: Role, *scope: uuid.UUID) -> Principal:
        kind = PrincipalKind.api_key if role is Role.agency else PrincipalKind.user
        return Principal(
            kind=kind,
            role=role,
            subject=str(uuid.uuid4()),
            agency_id=scope[0],
            agency_ids=scope,
        )

    return {
        "stranger coordinator": staff(Role.coordinator, elsewhere, elsewhere_office),
        "stranger liaison": staff(Role.liaison, elsewhere),
        "stranger agency key": staff(Role.agency, elsewhere),
        "stranger office liaison": staff(Role.liaison, elsewhere_office),
    }


@pytest.fixture
async def world(session: AsyncSession) -> dict[str, Any]:
    """A complaint held (on hold, so `resume` is legal too) at pemda-11.01's office, and the
    other agencies: pemda-32.01 with an office of its own."""
    office = await add_office(session, "pemda-11.01", "dinas_pupr")
    elsewhere = await agency_id(session, "pemda-32.01")
    elsewhere_office = await add_office(session, "pemda-32.01", "dinas_pupr")
    dispositioned = await add_complaint(session, status="dispositioned", confidential=True)
    await assign(session, dispositioned, "pemda-11.01")
    held = await add_complaint(
        session, status="on_hold", held_from_status="in_progress", resume_on=date.today()
    )
    await assign(session, held, office.code)
    await session.commit()
    return {
        "office": office.id,
        "elsewhere": elsewhere,
        "elsewhere_office": elsewhere_office.id,
        "complaints": [dispositioned, held],
    }


async def snapshot(session: AsyncSession, complaint: Complaint) -> tuple[Any, ...]:
    row = (
        await session.execute(
            select(Complaint.status, Complaint.version, Complaint.returns_count)
            .where(Complaint.id == complaint.id)
            .execution_options(populate_existing=True)
        )
    ).one()
    assignments = await session.scalar(
        select(func.count()).where(ComplaintAgency.complaint_id == complaint.id)
    )
    events = await session.scalar(select(func.count()).where(Event.complaint_id == complaint.id))
    return (*row, assignments, events)


@pytest.mark.parametrize(
    "who",
    [
        "stranger coordinator",
        "stranger liaison",
        "stranger agency key",
        "stranger office liaison",
    ],
)
async def test_a_stranger_agency_neither_sees_nor_acts(
    runtime: Runtime, session: AsyncSession, world: dict[str, Any], who: str
) -> None:
    principal = strangers(world["elsewhere"], world["elsewhere_office"])[who]
    before = [await snapshot(session, c) for c in world["complaints"]]

    async with service_client(create_app(runtime.settings), runtime, principal) as client:
        listing = await client.get(BASE, params={"limit": 100})
        assert listing.status_code == 200, listing.text
        text = listing.text
        answers: dict[str, int] = {}
        for complaint in world["complaints"]:
            path = f"{BASE}/{complaint.tracking_id}"
            assert complaint.tracking_id not in text
            answers[f"{complaint.tracking_id} read"] = (await client.get(path)).status_code
            for name, body in actions(world["office"], world["elsewhere_office"]).items():
                action = name.split("-named")[0].split("-own-office")[0]
                response = await client.post(f"{path}/{action}", json=body)
                answers[f"{complaint.tracking_id} {name}"] = response.status_code
                assert response.headers["content-type"] == "application/problem+json"
                assert complaint.title not in response.text
        await runtime.publisher.close()

    assert answers == dict.fromkeys(answers, 404)
    assert len(answers) == 2 * 10
    # Nothing was changed, assigned or recorded.
    assert [await snapshot(session, c) for c in world["complaints"]] == before


@pytest.mark.parametrize(
    ("principal", "status"),
    [
        (ANONYMOUS, 401),
        (Principal(kind=PrincipalKind.user, role=Role.citizen, subject="c"), 403),
        (Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="o"), 403),
        (
            Principal(
                kind=PrincipalKind.api_key,
                role=Role.regional_system,
                subject="r",
                region_codes=("11",),
            ),
            403,
        ),
    ],
    ids=["anonymous", "citizen", "ops", "regional system of the region"],
)
async def test_roles_outside_the_agency_workflow_are_refused(
    runtime: Runtime, world: dict[str, Any], principal: Principal, status: int
) -> None:
    complaint = world["complaints"][0]
    path = f"{BASE}/{complaint.tracking_id}"
    async with service_client(create_app(runtime.settings), runtime, principal) as client:
        answers = [(await client.get(BASE)).status_code, (await client.get(path)).status_code]
        for name, body in actions(world["office"], world["elsewhere_office"]).items():
            action = name.split("-named")[0].split("-own-office")[0]
            answers.append((await client.post(f"{path}/{action}", json=body)).status_code)
    assert answers == [status] * len(answers)


async def test_the_owner_and_its_parent_reach_what_strangers_cannot(
    runtime: Runtime, session: AsyncSession, world: dict[str, Any]
) -> None:
    """The same requests answer for the agencies that hold the complaints, so the 404s above
    are about scope, not about broken requests."""
    regency = await agency_id(session, "pemda-11.01")
    parent = Principal(
        kind=PrincipalKind.user,
        role=Role.coordinator,
        subject=str(uuid.uuid4()),
        agency_id=regency,
        agency_ids=(regency, world["office"]),
    )
    dispositioned, held = world["complaints"]
    async with service_client(create_app(runtime.settings), runtime, parent) as client:
        listing = (await client.get(BASE, params={"limit": 100})).text
        read = await client.get(f"{BASE}/{held.tracking_id}")
        resumed = await client.post(f"{BASE}/{held.tracking_id}/resume", json={})
        delegated = await client.post(
            f"{BASE}/{dispositioned.tracking_id}/delegate",
            json={"office_id": str(world["office"])},
        )
        await runtime.publisher.close()
    assert dispositioned.tracking_id in listing and held.tracking_id in listing
    assert read.status_code == 200
    assert resumed.status_code == 200 and resumed.json()["status"] == "in_progress"
    assert delegated.status_code == 200, delegated.text
