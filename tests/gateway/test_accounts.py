"""Citizens: register, sign in, see their account; wrong credentials tell nothing."""

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import SessionMaker
from services.models import Account
from tests.factories import add_account
from tests.gateway.conftest import (
    SignInAs,
    Upstreams,
    accounts_settings,
    bearer,
    running_accounts_gateway,
    sign_in,
)

REGISTRATION = {
    "name": "Siti Rahmawati",
    "email": "Siti.Rahmawati@Example.ID",
    "phone": "+6281234567890",
    "password": "rahasia-sekali-123",
}


async def test_a_citizen_registers_signs_in_and_sees_their_account(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    registered = await accounts_gateway.post("/api/v1/auth/register", json=REGISTRATION)

    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["role"] == "citizen"
    assert body["email"] == "siti.rahmawati@example.id"
    assert "password" not in str(body) and "hash" not in str(body)
    stored = await session.scalar(select(Account).where(Account.id == body["id"]))
    assert stored is not None and stored.password_hash.startswith("$argon2id$")

    tokens = await sign_in(accounts_gateway, "SITI.rahmawati@example.id", "rahasia-sekali-123")

    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    answer = tokens.json()
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 900
    assert answer["refresh_token"]
    me = await accounts_gateway.get("/api/v1/me", headers=bearer(answer["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() | {"created_at": None} == body | {"created_at": None}


async def test_a_second_registration_with_the_same_email_is_409(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    await add_account(session, email="siti.rahmawati@example.id")

    response = await accounts_gateway.post("/api/v1/auth/register", json=REGISTRATION)

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "conflict"


async def test_a_short_password_is_refused(accounts_gateway: httpx.AsyncClient) -> None:
    response = await accounts_gateway.post(
        "/api/v1/auth/register", json=REGISTRATION | {"password": "pendek"}
    )

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/password"]


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await add_account(session)
    deactivated = await add_account(session, active=False)

    wrong = await sign_in(accounts_gateway, account.email, "not-the-password")
    unknown = await sign_in(accounts_gateway, "nobody@example.id")
    inactive = await sign_in(accounts_gateway, deactivated.email)

    for response in (wrong, unknown, inactive):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert wrong.json()["detail"] == unknown.json()["detail"] == inactive.json()["detail"]


async def test_the_token_endpoint_takes_a_form_only(accounts_gateway: httpx.AsyncClient) -> None:
    as_json = await accounts_gateway.post(
        "/api/v1/auth/token",
        json={"grant_type": "password", "username": "a@example.id", "password": "x"},
    )
    no_grant = await accounts_gateway.post(
        "/api/v1/auth/token", data={"username": "a@example.id", "password": "x"}
    )
    twice = await accounts_gateway.post(
        "/api/v1/auth/token",
        content="grant_type=password&username=a%40example.id&password=x&password=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert as_json.status_code == 415
    assert no_grant.status_code == 422
    assert no_grant.json()["errors"][0]["pointer"] == "/grant_type"
    assert twice.status_code == 400


async def test_registering_while_signed_in_is_403(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient
) -> None:
    citizen = await sign_in_as()

    response = await accounts_gateway.post(
        "/api/v1/auth/register", json=REGISTRATION, headers=citizen.headers
    )

    assert response.status_code == 403


async def test_me_needs_an_account(accounts_gateway: httpx.AsyncClient) -> None:
    from tests.gateway.conftest import ADMIN_KEY

    anonymous = await accounts_gateway.get("/api/v1/me")
    admin_key = await accounts_gateway.get("/api/v1/me", headers=bearer(ADMIN_KEY))

    assert anonymous.status_code == 401
    assert admin_key.status_code == 403


async def test_my_complaints_are_intakes_and_reach_it_as_the_citizen(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    citizen = await sign_in_as()

    response = await accounts_gateway.get("/api/v1/me/complaints", headers=citizen.headers)

    assert response.status_code == 200, response.text
    assert response.json()["service"] == "intake"
    principal = response.json()["principal"]
    assert (principal["kind"], principal["role"], principal["subject"]) == (
        "user",
        "citizen",
        str(citizen.account.id),
    )


OPERATIONS = [
    ("/api/v1/auth/register", "post", "auth"),
    ("/api/v1/auth/token", "post", "auth"),
    ("/api/v1/auth/refresh", "post", "auth"),
    ("/api/v1/auth/logout", "post", "auth"),
    ("/api/v1/me", "get", "me"),
    ("/api/v1/me/totp", "post", "me"),
    ("/api/v1/me/totp/confirm", "post", "me"),
    ("/api/v1/staff", "post", "staff"),
    ("/api/v1/staff", "get", "staff"),
    ("/api/v1/staff/{account_id}", "get", "staff"),
    ("/api/v1/staff/{account_id}", "delete", "staff"),
    ("/api/v1/api-keys", "post", "api-keys"),
    ("/api/v1/api-keys", "get", "api-keys"),
    ("/api/v1/api-keys/{key_id}", "delete", "api-keys"),
]


async def test_the_merged_document_describes_every_account_operation(
    accounts_gateway: httpx.AsyncClient,
) -> None:
    document = (await accounts_gateway.get("/openapi.json")).json()

    for path, method, tag in OPERATIONS:
        operation = document["paths"][path][method]
        assert operation["tags"] == [tag], (path, method)
        assert operation["summary"] and operation["description"], (path, method)
        problems = [
            status
            for status, answer in operation["responses"].items()
            if status[0] in "45" and "application/problem+json" in answer.get("content", {})
        ]
        assert "422" in problems, (path, method)
    form = document["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert list(form) == ["application/x-www-form-urlencoded"]
    assert form["application/x-www-form-urlencoded"]["schema"]["properties"]["otp"]


async def test_sign_in_attempts_are_rate_limited(
    upstreams: Upstreams, redis_url: str, sessionmaker: SessionMaker, session: AsyncSession
) -> None:
    account = await add_account(session)
    settings = accounts_settings(
        upstreams,
        redis_url,
        rate_limits={"login": "3/minute"},
        queue_prefix=f"accounts-limits-{uuid.uuid4().hex[:8]}",  # windows of its own
    )
    async with running_accounts_gateway(settings, sessionmaker) as gateway:
        answers = [await sign_in(gateway, account.email, "wrong-password") for _ in range(3)]
        refused = await sign_in(gateway, account.email)

    assert [answer.status_code for answer in answers] == [401, 401, 401]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"] == "application/problem+json"
