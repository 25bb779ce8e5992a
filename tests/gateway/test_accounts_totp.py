"""The TOTP second factor of staff: enrolment, sign-in with a code, codes accepted once, and
admins made to use it when ADUAN_ADMIN_TOTP_REQUIRED is on."""

import time
import uuid

import httpx
import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import SessionMaker
from tests.factories import PASSWORD, add_account, agency_id
from tests.gateway.conftest import (
    ADMIN_KEY,
    SignInAs,
    Upstreams,
    accounts_settings,
    bearer,
    running_accounts_gateway,
    sign_in,
)


def code(secret: str, *, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def test_staff_enrol_a_second_factor_and_then_need_a_code_to_sign_in(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    liaison = await sign_in_as(role="liaison", agency_id=await agency_id(session, "pemda-11.01"))

    started = await accounts_gateway.post("/api/v1/me/totp", headers=liaison.headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Aduan:")
    # Not on before a code confirmed it.
    assert (await sign_in(accounts_gateway, liaison.account.email)).status_code == 200
    wrong = await accounts_gateway.post(
        "/api/v1/me/totp/confirm", json={"code": "000000"}, headers=liaison.headers
    )
    first = code(secret)
    confirmed = await accounts_gateway.post(
        "/api/v1/me/totp/confirm", json={"code": first}, headers=liaison.headers
    )

    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["pointer"] == "/code"
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["totp_enabled"] is True
    without = await sign_in(accounts_gateway, liaison.account.email)
    assert without.status_code == 401
    assert "otp" in without.json()["detail"]
    assert (await sign_in(accounts_gateway, liaison.account.email, otp="123456")).status_code == 401
    # The confirming code is spent; the next step's code works once.
    replayed = await sign_in(accounts_gateway, liaison.account.email, otp=first)
    assert replayed.status_code == 401
    later = code(secret, steps_ahead=1)
    assert (await sign_in(accounts_gateway, liaison.account.email, otp=later)).status_code == 200
    assert (await sign_in(accounts_gateway, liaison.account.email, otp=later)).status_code == 401
    again = await accounts_gateway.post("/api/v1/me/totp", headers=liaison.headers)
    assert again.status_code == 409


async def test_a_wrong_password_with_a_right_code_is_still_401(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    secret = pyotp.random_base32()
    admin = await add_account(session, role="admin", totp_secret=secret)

    response = await sign_in(accounts_gateway, admin.email, "not-the-password", otp=code(secret))

    assert response.status_code == 401
    assert "otp" not in response.json()["detail"]


async def test_the_second_factor_is_for_staff(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient
) -> None:
    citizen = await sign_in_as()

    started = await accounts_gateway.post("/api/v1/me/totp", headers=citizen.headers)
    by_key = await accounts_gateway.post("/api/v1/me/totp", headers=bearer(ADMIN_KEY))

    assert started.status_code == by_key.status_code == 403


async def test_when_required_a_new_admin_gets_a_secret_and_signs_in_only_with_its_code(
    upstreams: Upstreams, redis_url: str, sessionmaker: SessionMaker, session: AsyncSession
) -> None:
    settings = accounts_settings(upstreams, redis_url, admin_totp_required=True)
    created_before = await add_account(session, role="admin")
    coordinator = await add_account(
        session, role="coordinator", agency_id=await agency_id(session, "pemda-11.01")
    )
    email = f"admin-{uuid.uuid4().hex[:8]}@kemendagri.go.id"
    async with running_accounts_gateway(settings, sessionmaker) as gateway:
        created = await gateway.post(
            "/api/v1/staff",
            json={"name": "Admin", "email": email, "password": PASSWORD, "role": "admin"},
            headers=bearer(ADMIN_KEY),
        )
        assert created.status_code == 201, created.text
        secret = created.json()["totp"]["secret"]
        assert created.json()["totp"]["otpauth_uri"].startswith("otpauth://")
        assert created.json()["totp_enabled"] is False

        without = await sign_in(gateway, email)
        with_code = await sign_in(gateway, email, otp=code(secret))
        me = await gateway.get("/api/v1/me", headers=bearer(with_code.json()["access_token"]))
        never_enrolled = await sign_in(gateway, created_before.email)
        not_an_admin = await sign_in(gateway, coordinator.email)

    assert without.status_code == 403
    assert without.headers["content-type"] == "application/problem+json"
    assert "second factor" in without.json()["detail"]
    assert with_code.status_code == 200, with_code.text
    assert me.json()["totp_enabled"] is True
    assert never_enrolled.status_code == 403
    assert not_an_admin.status_code == 200
