"""Access and refresh tokens: expiry, key ids, tampering, refresh rotation and reuse, rotation of
the signing keys."""

import base64
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts.tokens import AccessTokens, sha256_hex
from services.cli import write_procfile
from services.db import SessionMaker
from services.models import RefreshToken
from services.principal import Role
from tests.factories import add_account, add_api_key
from tests.gateway.conftest import (
    JWT_KEYS,
    JWT_KID,
    SignInAs,
    Upstreams,
    accounts_settings,
    bearer,
    running_accounts_gateway,
    sign_in,
)

OLD_KEY = "the-old-access-token-key-of-last-month-0001"
NEW_KEY = "the-new-access-token-key-of-this-month-0002"


def token_signed_with(kid: str, key: str, **claims: object) -> str:
    tokens = AccessTokens({kid: key}, kid, ttl_seconds=900)
    return tokens.issue(
        subject=claims.pop("subject"),  # type: ignore[arg-type]
        role=Role.citizen,
        agency_id=None,
        now=claims.pop("now", None),  # type: ignore[arg-type]
    )


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_an_access_token_names_its_key_and_who_holds_it(sign_in_as: SignInAs) -> None:
    citizen = await sign_in_as()

    token = citizen.tokens["access_token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})

    assert (header["alg"], header["kid"]) == ("HS256", JWT_KID)
    assert claims["sub"] == str(citizen.account.id)
    assert claims["role"] == "citizen"
    assert claims["agency_id"] is None
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


async def test_an_expired_token_is_401(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await add_account(session)
    expired = token_signed_with(
        JWT_KID,
        JWT_KEYS[JWT_KID],
        subject=account.id,
        now=datetime.now(UTC) - timedelta(seconds=901),
    )

    response = await accounts_gateway.get("/api/v1/me", headers=bearer(expired))

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "expired" in response.json()["detail"]


async def test_a_token_of_an_unknown_key_id_is_401(
    accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await add_account(session)
    # Even with the right secret: only configured key ids verify.
    other_kid = token_signed_with("not-configured", JWT_KEYS[JWT_KID], subject=account.id)
    other_key = token_signed_with(
        JWT_KID, "someone-elses-key-which-is-long-enough", subject=account.id
    )

    for token in (other_kid, other_key):
        response = await accounts_gateway.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401


def _with_payload(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


async def test_a_tampered_token_is_401(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient
) -> None:
    citizen = await sign_in_as()
    token = citizen.tokens["access_token"]

    promoted = _with_payload(token, role="admin")
    unsigned = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}),
        key="",
        algorithm="none",
        headers={"kid": JWT_KID},
    )

    for forged in (promoted, unsigned):
        response = await accounts_gateway.get("/api/v1/me", headers=bearer(forged))
        assert response.status_code == 401
    staff = await accounts_gateway.get("/api/v1/staff", headers=bearer(promoted))
    assert staff.status_code == 401


async def test_a_refresh_token_is_spent_and_replaced(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient
) -> None:
    citizen = await sign_in_as()

    first = await refresh(accounts_gateway, citizen.tokens["refresh_token"])
    second = await refresh(accounts_gateway, first.json()["refresh_token"])

    assert first.status_code == second.status_code == 200, first.text
    assert first.json()["refresh_token"] != citizen.tokens["refresh_token"]
    me = await accounts_gateway.get("/api/v1/me", headers=bearer(second.json()["access_token"]))
    assert me.json()["id"] == str(citizen.account.id)


async def test_reusing_a_refresh_token_revokes_its_whole_family(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    citizen = await sign_in_as()
    stolen = citizen.tokens["refresh_token"]
    newest = (await refresh(accounts_gateway, stolen)).json()["refresh_token"]
    other_device = (await sign_in(accounts_gateway, citizen.account.email)).json()

    replayed = await refresh(accounts_gateway, stolen)
    after = await refresh(accounts_gateway, newest)

    assert replayed.status_code == 401
    assert "used already" in replayed.json()["detail"]
    assert after.status_code == 401  # the newest token of the family is revoked too
    # Another sign-in is another family: it goes on.
    assert (await refresh(accounts_gateway, other_device["refresh_token"])).status_code == 200
    rows = (
        await session.scalars(
            select(RefreshToken)
            .where(RefreshToken.account_id == citizen.account.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    stolen_family = next(r.family_id for r in rows if r.token_hash == sha256_hex(stolen))
    assert len({row.family_id for row in rows}) == 2
    assert all(row.revoked_at is not None for row in rows if row.family_id == stolen_family)
    assert all(row.revoked_at is None for row in rows if row.family_id != stolen_family)


async def test_logout_revokes_the_family_and_is_quiet_about_unknown_tokens(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient
) -> None:
    citizen = await sign_in_as()
    newest = (await refresh(accounts_gateway, citizen.tokens["refresh_token"])).json()

    out = await accounts_gateway.post(
        "/api/v1/auth/logout", json={"refresh_token": citizen.tokens["refresh_token"]}
    )
    unknown = await accounts_gateway.post(
        "/api/v1/auth/logout", json={"refresh_token": "never-issued"}
    )

    assert out.status_code == unknown.status_code == 204
    assert (await refresh(accounts_gateway, newest["refresh_token"])).status_code == 401


async def test_an_expired_or_unknown_refresh_token_is_401(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    citizen = await sign_in_as()
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.account_id == citizen.account.id)
    )
    assert row is not None
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.flush()

    assert (await refresh(accounts_gateway, citizen.tokens["refresh_token"])).status_code == 401
    assert (await refresh(accounts_gateway, "never-issued")).status_code == 401


async def test_the_token_endpoint_refreshes_too(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient
) -> None:
    citizen = await sign_in_as()

    response = await accounts_gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": citizen.tokens["refresh_token"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] != citizen.tokens["refresh_token"]


async def test_a_deactivated_account_cannot_refresh(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    citizen = await sign_in_as()
    citizen.account.active = False
    await session.flush()

    response = await refresh(accounts_gateway, citizen.tokens["refresh_token"])

    assert response.status_code == 401


async def test_the_access_token_of_an_account_deactivated_elsewhere_is_refused(
    sign_in_as: SignInAs, accounts_gateway: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Deactivated in the database (another gateway process, a script): this process has not
    # seen the account in the last 5 s, so it reads the row and refuses the valid token.
    citizen = await sign_in_as()
    citizen.account.active = False
    await session.flush()

    response = await accounts_gateway.get("/api/v1/me", headers=citizen.headers)

    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


async def test_rotating_the_signing_key_keeps_old_tokens_valid_while_the_old_key_verifies(
    upstreams: Upstreams, redis_url: str, sessionmaker: SessionMaker, session: AsyncSession
) -> None:
    account = await add_account(session)
    before = accounts_settings(upstreams, redis_url, jwt_keys={"2026-10": OLD_KEY})
    async with running_accounts_gateway(before, sessionmaker) as gateway:
        old_token = (await sign_in(gateway, account.email)).json()["access_token"]
    assert jwt.get_unverified_header(old_token)["kid"] == "2026-10"

    overlap = accounts_settings(
        upstreams,
        redis_url,
        jwt_keys={"2026-10": OLD_KEY, "2026-11": NEW_KEY},
        jwt_active_kid="2026-11",
    )
    async with running_accounts_gateway(overlap, sessionmaker) as gateway:
        still = await gateway.get("/api/v1/me", headers=bearer(old_token))
        new_token = (await sign_in(gateway, account.email)).json()["access_token"]

    assert still.status_code == 200
    assert jwt.get_unverified_header(new_token)["kid"] == "2026-11"

    after = accounts_settings(upstreams, redis_url, jwt_keys={"2026-11": NEW_KEY})
    async with running_accounts_gateway(after, sessionmaker) as gateway:
        assert (await gateway.get("/api/v1/me", headers=bearer(old_token))).status_code == 401
        assert (await gateway.get("/api/v1/me", headers=bearer(new_token))).status_code == 200


@pytest.mark.parametrize(
    ("keys", "active"),
    [
        ({"a": OLD_KEY, "b": NEW_KEY}, None),
        ({"a": OLD_KEY}, "b"),
        ({"a": "short"}, None),
    ],
)
def test_misconfigured_keys_stop_the_gateway_at_startup(
    upstreams: Upstreams, keys: dict[str, str], active: str | None
) -> None:
    settings = accounts_settings(upstreams, "redis://unused", jwt_keys=keys, jwt_active_kid=active)

    with pytest.raises(RuntimeError, match="ADUAN_JWT"):
        AccessTokens.from_settings(settings)


async def test_without_keys_the_gateway_serves_api_keys_but_sign_in_is_503(
    upstreams: Upstreams, redis_url: str, sessionmaker: SessionMaker, session: AsyncSession
) -> None:
    account = await add_account(session)
    _, api_key = await add_api_key(session, role="ops")
    settings = accounts_settings(upstreams, redis_url, jwt_keys={})
    async with running_accounts_gateway(settings, sessionmaker) as gateway:
        signing_in = await sign_in(gateway, account.email)
        with_key = await gateway.get("/api/v1/complaints/echo", headers=bearer(api_key))
        with_token = await gateway.get("/api/v1/me", headers=bearer("a.b.c"))

    assert signing_in.status_code == 503
    assert "ADUAN_JWT_KEYS" in signing_in.json()["detail"]
    assert with_key.status_code == 200
    assert with_token.status_code == 401


def test_aduan_run_gives_its_access_token_key_to_the_gateway_alone(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile.in"
    procfile.write_text("gateway: env\nintake: env\n")
    keys = json.dumps({"run": "a-generated-key-of-forty-three-characters-x"})
    generated = Path(
        write_procfile(
            procfile,
            tmp_path,
            "the-private-key",
            {"ADUAN_JWT_KEYS": keys, "ADUAN_JWT_ACTIVE_KID": "run"},
        )
    )

    seen = {}
    for line in generated.read_text().splitlines():
        name, command = line.split(": ", 1)
        shown = subprocess.run(
            ["/bin/sh", "-c", command],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        seen[name] = dict(item.split("=", 1) for item in shown.splitlines() if "=" in item)

    assert json.loads(seen["gateway"]["ADUAN_JWT_KEYS"]) == json.loads(keys)
    assert seen["gateway"]["ADUAN_JWT_ACTIVE_KID"] == "run"
    assert "ADUAN_JWT_KEYS" not in seen["intake"]
