"""The gateway's accounts edge records account events for notifications' contact directory, in
the transaction of the change, and nothing when the change is refused."""

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import Event
from tests.factories import PASSWORD, agency_id
from tests.gateway.conftest import SignInAs

CITIZEN = {
    "name": "Siti Rahmawati",
    "email": "Siti.Events@Example.ID",
    "phone": "+6281234567890",
    "password": PASSWORD,
}


async def account_events(session: AsyncSession, account_id: str) -> list[Event]:
    rows = await session.scalars(
        select(Event)
        .where(Event.type.like("account.%"), Event.data["account_id"].astext == account_id)
        .order_by(Event.id)
    )
    return list(rows)


async def test_a_registration_records_the_citizens_contact(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    registered = await accounts_gateway.post("/api/v1/auth/register", json=CITIZEN)
    again = await accounts_gateway.post("/api/v1/auth/register", json=CITIZEN)

    assert registered.status_code == 201, registered.text
    assert again.status_code == 409
    account_id = registered.json()["id"]
    [event] = await account_events(session, account_id)
    assert event.type == "account.registered"
    assert event.complaint_id is None  # on no complaint's timeline
    assert (event.actor_role, event.actor_id) == ("citizen", account_id)
    assert event.data == {
        "account_id": account_id,
        "role": "citizen",
        "name": "Siti Rahmawati",
        "email": "siti.events@example.id",
        "phone": "+6281234567890",
        "agency_id": None,
    }


async def test_staff_created_and_deactivated_are_recorded_with_their_agency(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession, sign_in_as: SignInAs
) -> None:
    admin = await sign_in_as(role="admin")
    regency = await agency_id(session, "pemda-11.01")
    staff: dict[str, Any] = {
        "name": "Budi Santoso",
        "email": "budi.events@acehselatankab.go.id",
        "phone": None,
        "password": PASSWORD,
        "role": "liaison",
        "agency_id": str(regency),
    }

    created = await accounts_gateway.post("/api/v1/staff", json=staff, headers=admin.headers)
    account_id = created.json()["id"]
    gone = await accounts_gateway.delete(f"/api/v1/staff/{account_id}", headers=admin.headers)

    assert (created.status_code, gone.status_code) == (201, 204)
    first, second = await account_events(session, account_id)
    assert first.type == "account.staff_created"
    assert first.data["agency_id"] == str(regency)
    assert (first.data["role"], first.data["email"]) == ("liaison", staff["email"])
    assert first.actor_id == str(admin.account.id)
    assert second.type == "account.deactivated"
    assert second.data == {"account_id": account_id, "role": "liaison"}
