"""Staff accounts: who creates, sees and deactivates whom; what their tokens carry."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import PASSWORD, add_account, agency_id
from tests.gateway.conftest import ADMIN_KEY, SignInAs, bearer, sign_in

ECHO = "/api/v1/complaints/echo"  # the fake intake answers with the principal it received


def staff(role: str, agency: uuid.UUID | None, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Budi Santoso",
        "email": f"{role}-{uuid.uuid4().hex[:8]}@acehselatankab.go.id",
        "phone": "+6281299990000",
        "password": PASSWORD,
        "role": role,
        "agency_id": str(agency) if agency else None,
        **fields,
    }


async def test_an_admin_creates_a_coordinator_who_signs_in_with_the_agency_and_its_offices(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await sign_in_as(role="admin")
    province = await agency_id(session, "pemprov-11")
    regency = await agency_id(session, "pemda-11.01")

    created = await accounts_gateway.post(
        "/api/v1/staff", json=staff("coordinator", province), headers=admin.headers
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["role"], body["agency"]["code"]) == ("coordinator", "pemprov-11")
    assert body["created_by"] == f"admin:{admin.account.id}"
    assert body["totp"] is None
    tokens = (await sign_in(accounts_gateway, body["email"])).json()
    seen = await accounts_gateway.get(ECHO, headers=bearer(tokens["access_token"]))
    principal = seen.json()["principal"]
    assert (principal["kind"], principal["role"], principal["agency_id"]) == (
        "user",
        "coordinator",
        str(province),
    )
    assert principal["agency_ids"][0] == str(province)
    assert str(regency) in principal["agency_ids"]
    me = await accounts_gateway.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.json()["agency"]["id"] == str(province)


async def test_the_bootstrap_key_creates_admins(accounts_gateway: httpx.AsyncClient) -> None:
    response = await accounts_gateway.post(
        "/api/v1/staff", json=staff("admin", None), headers=bearer(ADMIN_KEY)
    )

    assert response.status_code == 201, response.text
    assert (response.json()["agency"], response.json()["created_by"]) == (None, "admin:bootstrap")


async def test_a_coordinator_creates_staff_of_its_agency_and_offices_only(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    coordinator = await sign_in_as(
        role="coordinator", agency_id=await agency_id(session, "pemprov-11")
    )
    office = await agency_id(session, "pemda-11.01")
    elsewhere = await agency_id(session, "pemda-12.01")

    liaison = await accounts_gateway.post(
        "/api/v1/staff", json=staff("liaison", office), headers=coordinator.headers
    )
    other_agency = await accounts_gateway.post(
        "/api/v1/staff", json=staff("liaison", elsewhere), headers=coordinator.headers
    )
    admin = await accounts_gateway.post(
        "/api/v1/staff", json=staff("admin", None), headers=coordinator.headers
    )

    assert liaison.status_code == 201, liaison.text
    assert liaison.json()["created_by"] == f"coordinator:{coordinator.account.id}"
    assert other_agency.status_code == 403
    assert admin.status_code == 403


@pytest.mark.parametrize(
    ("role", "agency", "pointer"),
    [
        ("coordinator", None, "/agency_id"),
        ("liaison", "unknown", "/agency_id"),
        ("admin", "pemda-11.01", "/agency_id"),
        ("citizen", "pemda-11.01", "/role"),
    ],
)
async def test_staff_need_a_known_agency_except_admins(
    accounts_gateway: httpx.AsyncClient,
    session: AsyncSession,
    role: str,
    agency: str | None,
    pointer: str,
) -> None:
    agency_uuid = (
        uuid.uuid4()
        if agency == "unknown"
        else (await agency_id(session, agency) if agency else None)
    )

    response = await accounts_gateway.post(
        "/api/v1/staff", json=staff(role, agency_uuid), headers=bearer(ADMIN_KEY)
    )

    assert response.status_code == 422
    assert [error["pointer"] for error in response.json()["errors"]] == [pointer]


async def test_an_email_is_one_account(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    existing = await add_account(session)

    response = await accounts_gateway.post(
        "/api/v1/staff",
        json=staff("admin", None, email=existing.email.upper()),
        headers=bearer(ADMIN_KEY),
    )

    assert response.status_code == 409


async def test_admins_see_all_staff_and_coordinators_their_agencies(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    province = await agency_id(session, "pemprov-11")
    regency = await agency_id(session, "pemda-11.01")
    neighbour = await agency_id(session, "pemda-11.02")
    in_regency = await add_account(session, role="liaison", agency_id=regency)
    in_neighbour = await add_account(session, role="liaison", agency_id=neighbour)
    in_province = await add_account(session, role="coordinator", agency_id=province)
    citizen = await add_account(session)
    coordinator = await sign_in_as(role="coordinator", agency_id=regency)
    admin = await sign_in_as(role="admin")

    async def listed(headers: dict[str, str]) -> set[str]:
        ids: set[str] = set()
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = await accounts_gateway.get("/api/v1/staff", params=params, headers=headers)
            assert page.status_code == 200, page.text
            ids |= {item["id"] for item in page.json()["items"]}
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return ids

    by_admin = await listed(admin.headers)
    by_coordinator = await listed(coordinator.headers)

    assert {str(a.id) for a in (in_regency, in_neighbour, in_province)} <= by_admin
    assert str(citizen.id) not in by_admin
    # Other tests' staff of the same regency may be in the shared database: what matters is
    # that the regency's own are listed and nobody outside it is.
    assert {str(in_regency.id), str(coordinator.account.id)} <= by_coordinator
    assert {str(in_neighbour.id), str(in_province.id), str(citizen.id)} & by_coordinator == set()


async def test_staff_outside_a_coordinators_agencies_are_not_there_for_it(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    coordinator = await sign_in_as(role="coordinator", agency_id=regency)
    mine = await add_account(session, role="liaison", agency_id=regency)
    province = await add_account(
        session, role="coordinator", agency_id=await agency_id(session, "pemprov-11")
    )
    citizen = await add_account(session)

    found = await accounts_gateway.get(f"/api/v1/staff/{mine.id}", headers=coordinator.headers)
    above = await accounts_gateway.get(f"/api/v1/staff/{province.id}", headers=coordinator.headers)
    not_staff = await accounts_gateway.get(f"/api/v1/staff/{citizen.id}", headers=bearer(ADMIN_KEY))
    delete_above = await accounts_gateway.delete(
        f"/api/v1/staff/{province.id}", headers=coordinator.headers
    )

    assert found.status_code == 200
    assert found.json()["email"] == mine.email
    assert above.status_code == not_staff.status_code == delete_above.status_code == 404


async def test_deactivated_staff_can_no_longer_sign_in_or_refresh(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    regency = await agency_id(session, "pemda-11.01")
    coordinator = await sign_in_as(role="coordinator", agency_id=regency)
    liaison = await sign_in_as(role="liaison", agency_id=regency)
    before = await accounts_gateway.get("/api/v1/me", headers=liaison.headers)

    gone = await accounts_gateway.delete(
        f"/api/v1/staff/{liaison.account.id}", headers=coordinator.headers
    )
    again = await accounts_gateway.delete(
        f"/api/v1/staff/{liaison.account.id}", headers=coordinator.headers
    )

    assert before.status_code == 200
    assert gone.status_code == again.status_code == 204
    assert (await sign_in(accounts_gateway, liaison.account.email)).status_code == 401
    # The access token signed in before is refused too, not only once it expires.
    me = await accounts_gateway.get("/api/v1/me", headers=liaison.headers)
    assert me.status_code == 401
    assert me.headers["content-type"] == "application/problem+json"
    refreshed = await accounts_gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": liaison.tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    shown = await accounts_gateway.get(
        f"/api/v1/staff/{liaison.account.id}", headers=coordinator.headers
    )
    assert shown.json()["active"] is False


async def test_nobody_deactivates_themselves(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient
) -> None:
    admin = await sign_in_as(role="admin")

    response = await accounts_gateway.delete(
        f"/api/v1/staff/{admin.account.id}", headers=admin.headers
    )

    assert response.status_code == 409


async def test_liaisons_citizens_and_anonymous_callers_do_not_manage_staff(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    liaison = await sign_in_as(role="liaison", agency_id=await agency_id(session, "pemda-11.01"))
    citizen = await sign_in_as()

    for headers, expected in ((liaison.headers, 403), (citizen.headers, 403), ({}, 401)):
        listing = await accounts_gateway.get("/api/v1/staff", headers=headers)
        creating = await accounts_gateway.post(
            "/api/v1/staff", json=staff("admin", None), headers=headers
        )
        assert (listing.status_code, creating.status_code) == (expected, expected)
        assert listing.headers["content-type"] == "application/problem+json"
