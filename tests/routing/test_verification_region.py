"""Complaints without a region (Open311 requests located by coordinates or an address only):
the worker leaves them in the queue with `region_missing`, only national admins see and act on
them, and setting the region runs the automatic verification again."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.disposition.repository import clear_caches
from routing.main import create_app
from routing.verification.policy import Reason, evaluate, filing_role, flag_list
from routing.worker import route_event
from services.events.envelope import EventEnvelope
from services.models import Complaint, Event
from services.principal import Principal, PrincipalKind, Role
from services.runtime import Runtime
from services.worker import event_task
from tests.conftest import service_client
from tests.factories import add_complaint, add_event, agency_id

BASE = "/api/v1/verification/complaints"
ADMIN = Principal(kind=PrincipalKind.user, role=Role.admin, subject="admin-1")
handle_event = event_task("routing", route_event)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


def client(runtime: Runtime, principal: Principal) -> httpx.AsyncClient:
    return service_client(create_app(runtime.settings), runtime, principal)


async def coordinator(session: AsyncSession, code: str) -> Principal:
    agency = await agency_id(session, code)
    return Principal(
        kind=PrincipalKind.user,
        role=Role.coordinator,
        subject=str(uuid.uuid4()),
        agency_id=agency,
        agency_ids=(agency,),
    )


async def submitted_without_region(runtime: Runtime, session: AsyncSession) -> Complaint:
    """A region-less complaint as intake leaves it, after the worker handled its event."""
    async with runtime.sessionmaker() as writer:
        filed = await add_complaint(
            writer, region_code=None, submitted_by="open311:anonymous:abc", address="Jl. Merdeka 1"
        )
        event = await add_event(writer, complaint=filed)
        await writer.commit()
    result = await handle_event(
        {"runtime": runtime}, EventEnvelope.of(event).model_dump(mode="json")
    )
    assert result == "processed"
    stored = await session.scalar(select(Complaint).where(Complaint.id == filed.id))
    assert stored is not None
    await session.refresh(stored)
    return stored


async def types(session: AsyncSession, complaint: Complaint) -> list[str]:
    rows = await session.scalars(
        select(Event.type).where(Event.complaint_id == complaint.id).order_by(Event.id)
    )
    return list(rows)


async def test_a_complaint_without_a_region_waits_in_the_queue_for_an_admin(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await submitted_without_region(runtime, session)

    async with client(runtime, ADMIN) as c:
        queue = await c.get(BASE, params={"reason": "region_missing", "limit": 200})
    async with client(runtime, await coordinator(session, "pemprov-11")) as c:
        theirs = await c.get(BASE, params={"limit": 200})
        verify = await c.post(f"{BASE}/{complaint.tracking_id}/verify", json={})

    assert complaint.status == "submitted"
    assert await types(session, complaint) == [
        "complaint.submitted",
        "complaint.verification_required",
    ]
    items = {i["tracking_id"]: i for i in queue.json()["items"]}
    assert items[complaint.tracking_id]["reasons"] == ["region_missing"]
    assert items[complaint.tracking_id]["region_code"] is None
    # It lies in no coordinator's region.
    assert complaint.tracking_id not in {i["tracking_id"] for i in theirs.json()["items"]}
    assert verify.status_code == 404


async def test_setting_the_region_verifies_and_dispositions_the_complaint(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await submitted_without_region(runtime, session)

    async with client(runtime, ADMIN) as c:
        response = await c.post(
            f"{BASE}/{complaint.tracking_id}/region", json={"region_code": "11.01.01"}
        )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "dispositioned"
    assert body["agency"]["code"].startswith("pemda-11.01")
    await session.refresh(complaint)
    assert complaint.region_code == "11.01.01"
    assert await types(session, complaint) == [
        "complaint.submitted",
        "complaint.verification_required",
        "complaint.region_set",
        "complaint.verified",
        "complaint.dispositioned",
    ]
    region_set = await session.scalar(
        select(Event).where(
            Event.complaint_id == complaint.id, Event.type == "complaint.region_set"
        )
    )
    assert region_set is not None
    assert region_set.data["region_code"] == "11.01.01"
    assert region_set.data["previous_region_code"] is None
    assert region_set.actor_role == "admin"


async def test_a_verifier_cannot_verify_a_complaint_before_its_region_is_set(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await submitted_without_region(runtime, session)

    async with client(runtime, ADMIN) as c:
        response = await c.post(f"{BASE}/{complaint.tracking_id}/verify", json={})

    assert response.status_code == 409, response.text
    assert "region" in response.json()["detail"]
    await session.refresh(complaint)
    assert complaint.status == "submitted"


async def test_setting_a_region_refuses_unknown_codes_others_than_admins_and_closed_complaints(
    runtime: Runtime, session: AsyncSession
) -> None:
    complaint = await submitted_without_region(runtime, session)
    archived = await add_complaint(session, region_code=None, status="archived")

    async with client(runtime, ADMIN) as c:
        unknown = await c.post(
            f"{BASE}/{complaint.tracking_id}/region", json={"region_code": "99.99"}
        )
        malformed = await c.post(
            f"{BASE}/{complaint.tracking_id}/region", json={"region_code": "aceh"}
        )
        closed = await c.post(
            f"{BASE}/{archived.tracking_id}/region", json={"region_code": "11.01"}
        )
    async with client(runtime, await coordinator(session, "pemprov-11")) as c:
        coordinator_try = await c.post(
            f"{BASE}/{complaint.tracking_id}/region", json={"region_code": "11.01"}
        )

    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/region_code"
    assert unknown.json()["errors"][0]["code"] == "unknown_region"
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["pointer"] == "/region_code"
    assert closed.status_code == 409
    assert coordinator_try.status_code == 403
    await session.refresh(complaint)
    assert complaint.region_code is None
    assert await types(session, complaint) == [
        "complaint.submitted",
        "complaint.verification_required",
    ]


def test_an_open311_request_is_its_own_channel_and_a_missing_region_a_reason() -> None:
    verdict = evaluate(
        title="Lampu jalan mati",
        description="Lampu jalan di depan pasar mati sejak dua minggu.",
        region_code=None,
        category_verification="auto",
        channel="open311",
        role=filing_role("regional_system:key-1"),
        manual_channels=["open311"],
        flags=flag_list(),
    )

    assert verdict.reasons == (Reason.channel_policy, Reason.region_missing)
