"""API keys of systems: created once by admins, shown never again, authenticating as their role
and scope, revoked at once; last use recorded; the `aduan api-key` command."""

import argparse
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import cli
from gateway.accounts.repository import ApiKeyRepository
from services import cli as kernel_cli
from services.db import SessionMaker
from services.models import ApiKey
from tests.factories import add_api_key, agency_id
from tests.gateway.conftest import ADMIN_KEY, SignInAs, bearer

ECHO = "/api/v1/complaints/echo"  # the fake intake answers with the principal it received
ADMIN = bearer(ADMIN_KEY)


async def principal_of(client: httpx.AsyncClient, key: str) -> dict[str, object]:
    response = await client.get(ECHO, headers=bearer(key))
    assert response.status_code == 200, response.text
    principal: dict[str, object] = response.json()["principal"]
    return principal


async def test_an_agency_key_is_shown_once_and_acts_for_its_agency_and_offices(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    province = await agency_id(session, "pemprov-11")
    regency = await agency_id(session, "pemda-11.01")

    created = await accounts_gateway.post(
        "/api/v1/api-keys",
        json={"name": "SP4N Aceh", "role": "agency", "agency_id": str(province)},
        headers=ADMIN,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"adn_{body['prefix']}_")
    assert len(body["key"].split("_", 2)[2]) >= 32
    assert body["created_by"] == "admin:bootstrap"
    stored = await session.scalar(select(ApiKey).where(ApiKey.id == body["id"]))
    assert stored is not None and body["key"].split("_", 2)[2] not in stored.secret_hash
    principal = await principal_of(accounts_gateway, body["key"])
    assert (principal["kind"], principal["role"], principal["subject"]) == (
        "api_key",
        "agency",
        body["id"],
    )
    assert principal["agency_id"] == str(province)
    assert isinstance(principal["agency_ids"], list)
    assert str(regency) in principal["agency_ids"]
    listed = await accounts_gateway.get("/api/v1/api-keys", headers=ADMIN)
    assert body["key"] not in listed.text
    assert body["id"] in {item["id"] for item in listed.json()["items"]}


async def test_a_regional_system_key_carries_its_region_codes(
    accounts_gateway: httpx.AsyncClient,
) -> None:
    created = await accounts_gateway.post(
        "/api/v1/api-keys",
        json={"name": "Lapor Aceh", "role": "regional_system", "region_codes": ["11.01", "11"]},
        headers=ADMIN,
    )

    assert created.status_code == 201, created.text
    principal = await principal_of(accounts_gateway, created.json()["key"])
    assert (principal["role"], principal["region_codes"]) == ("regional_system", ["11", "11.01"])


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        ({"role": "agency"}, ["/agency_id"]),
        ({"role": "regional_system"}, ["/region_codes"]),
        ({"role": "regional_system", "region_codes": ["11", "99.99"]}, ["/region_codes/1"]),
        ({"role": "ops", "region_codes": ["11"]}, ["/region_codes"]),
        ({"role": "admin", "agency_id": "6f1a3c0e-2b7d-5e8f-9a0b-1c2d3e4f5a6b"}, ["/agency_id"]),
        ({"role": "citizen"}, ["/role"]),
    ],
)
async def test_a_key_is_bound_to_what_its_role_needs(
    accounts_gateway: httpx.AsyncClient, body: dict[str, object], pointers: list[str]
) -> None:
    response = await accounts_gateway.post(
        "/api/v1/api-keys", json={"name": "x"} | body, headers=ADMIN
    )

    assert response.status_code == 422
    assert [error["pointer"] for error in response.json()["errors"]] == pointers


async def test_a_revoked_key_is_refused_at_once(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    key, whole = await add_api_key(session, role="ops")
    assert (await principal_of(accounts_gateway, whole))["role"] == "ops"  # now cached

    revoked = await accounts_gateway.delete(f"/api/v1/api-keys/{key.id}", headers=ADMIN)
    again = await accounts_gateway.delete(f"/api/v1/api-keys/{key.id}", headers=ADMIN)
    refused = await accounts_gateway.get(ECHO, headers=bearer(whole))

    assert revoked.status_code == again.status_code == 204
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    listed = await accounts_gateway.get("/api/v1/api-keys", headers=ADMIN)
    [row] = [item for item in listed.json()["items"] if item["id"] == str(key.id)]
    assert row["revoked_at"] is not None


async def test_revoking_an_unknown_key_is_404(accounts_gateway: httpx.AsyncClient) -> None:
    response = await accounts_gateway.delete(
        "/api/v1/api-keys/019ac7a4-3b9e-7c11-8d2f-5e0a1b2c3d4e", headers=ADMIN
    )

    assert response.status_code == 404


@pytest.mark.parametrize("mangle", ["wrong-secret", "malformed"])
async def test_a_key_with_a_wrong_secret_or_shape_is_401(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession, mangle: str
) -> None:
    _, whole = await add_api_key(session, role="admin")
    secret = whole.split("_", 2)[2]
    wrong = whole[: -len(secret)] + secret[::-1]
    token = wrong if mangle == "wrong-secret" else "adn_short_secret"

    response = await accounts_gateway.get(ECHO, headers=bearer(token))

    assert response.status_code == 401


async def test_last_use_is_recorded_at_most_once_a_minute(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    key, whole = await add_api_key(session, role="ops")

    await principal_of(accounts_gateway, whole)
    await session.refresh(key)
    first = key.last_used_at
    await principal_of(accounts_gateway, whole)
    await session.refresh(key)

    assert first is not None
    assert key.last_used_at == first
    # An older mark is replaced (the conditional UPDATE itself, as another process would run it).
    key.last_used_at = datetime.now(UTC) - timedelta(minutes=2)
    await session.flush()
    await ApiKeyRepository(session).mark_used(key.id)
    await session.refresh(key)
    assert key.last_used_at == first  # now(): the test's one transaction began then


async def test_a_failing_last_use_mark_never_fails_the_request(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, whole = await add_api_key(session, role="ops")

    async def broken(self: ApiKeyRepository, key_id: object) -> None:
        raise OSError("database went away")

    monkeypatch.setattr(ApiKeyRepository, "mark_used", broken)

    assert (await principal_of(accounts_gateway, whole))["role"] == "ops"


async def test_only_admins_manage_keys(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    coordinator = await sign_in_as(
        role="coordinator", agency_id=await agency_id(session, "pemda-11.01")
    )
    _, agency_key = await add_api_key(
        session, role="agency", agency_id=await agency_id(session, "pemda-11.01")
    )
    _, admin_key = await add_api_key(session, role="admin")

    for headers, expected in (
        (coordinator.headers, 403),
        (bearer(agency_key), 403),
        ({}, 401),
        (bearer(admin_key), 200),
    ):
        response = await accounts_gateway.get("/api/v1/api-keys", headers=headers)
        assert response.status_code == expected, response.text


# --- aduan api-key --------------------------------------------------------------------------------


async def test_the_command_creates_lists_and_revokes_keys(
    sessionmaker: SessionMaker, session: AsyncSession
) -> None:
    parser = cli.build_parser()
    out = io.StringIO()

    created = await cli.run(
        parser.parse_args(
            ["create", "--name", "Dinas PU", "--role", "agency", "--agency", "pemda-11.01"]
        ),
        sessionmaker,
        out,
    )
    key_id = out.getvalue().split("id:")[1].split()[0]
    whole = out.getvalue().split("key:")[1].split()[0]
    listed = io.StringIO()
    await cli.run(parser.parse_args(["list"]), sessionmaker, listed)
    revoked = await cli.run(parser.parse_args(["revoke", key_id]), sessionmaker, io.StringIO())

    assert created == revoked == 0
    assert whole.startswith("adn_")
    assert key_id in listed.getvalue() and whole not in listed.getvalue()
    row = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id).execution_options(populate_existing=True)
    )
    assert row is not None
    assert (row.role, row.created_by, row.agency_id) == (
        "agency",
        "cli",
        await agency_id(session, "pemda-11.01"),
    )
    assert row.revoked_at is not None


async def test_the_command_refuses_what_the_api_refuses(sessionmaker: SessionMaker) -> None:
    parser = cli.build_parser()

    unknown_region = await cli.run(
        parser.parse_args(["create", "--name", "x", "--role", "regional_system", "--region", "99"]),
        sessionmaker,
        io.StringIO(),
    )
    unknown_agency = await cli.run(
        parser.parse_args(["create", "--name", "x", "--role", "agency", "--agency", "nowhere"]),
        sessionmaker,
        io.StringIO(),
    )

    assert unknown_region == unknown_agency == 1


def test_aduan_hands_api_key_to_the_gateways_command(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "main", lambda argv: seen.append(argv) or 0)

    assert kernel_cli.main(["api-key", "revoke", "--help"]) == 0
    assert seen == [["revoke", "--help"]]
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["create", "--role", "agency"])
    assert exit_.value.code == 2
    assert isinstance(cli.build_parser(), argparse.ArgumentParser)
