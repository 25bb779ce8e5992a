"""Authentication at the edge: what principal each caller reaches the services as."""

import uuid

import httpx
import pytest

from gateway.accounts.runtime import AccountsRuntime
from gateway.auth import (
    AccessTokenAuthenticator,
    AdminKeyAuthenticator,
    ApiKeyAuthenticator,
    AuthenticatorChain,
    Unauthenticated,
    build_authenticator,
)
from services.db import SessionMaker
from services.principal import ANONYMOUS, Role
from tests.gateway.conftest import ADMIN_KEY, Upstreams, accounts_settings, make_settings

ECHO = "/api/v1/complaints/echo"


async def test_admin_key_reaches_the_service_as_admin(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(ECHO, headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    assert response.status_code == 200
    principal = response.json()["principal"]
    assert (principal["kind"], principal["role"], principal["subject"]) == (
        "api_key",
        "admin",
        "bootstrap",
    )


async def test_scheme_is_case_insensitive(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(ECHO, headers={"Authorization": f"bearer {ADMIN_KEY}"})

    assert response.json()["principal"]["role"] == "admin"


async def test_no_authorization_is_anonymous(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(ECHO)

    assert response.status_code == 200
    assert response.json()["principal"]["role"] == "anonymous"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-the-key",
        f"Bearer {ADMIN_KEY}x",
        f"Basic {ADMIN_KEY}",
        "Bearer",
        "",
    ],
)
async def test_unknown_credentials_are_401_and_never_forwarded(
    gateway: httpx.AsyncClient, upstreams: Upstreams, authorization: str
) -> None:
    request_id = uuid.uuid4().hex
    response = await gateway.post(
        ECHO,
        json={"title": "x"},
        headers={"Authorization": authorization, "X-Request-ID": request_id},
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["code"] == "unauthenticated"
    assert problem["status"] == 401
    assert problem["request_id"] == request_id
    assert request_id not in upstreams.intake.app.state.seen


async def test_problem_title_follows_accept_language(gateway: httpx.AsyncClient) -> None:
    english = await gateway.get(
        ECHO, headers={"Authorization": "Bearer nope", "Accept-Language": "en-US,en;q=0.9"}
    )
    indonesian = await gateway.get(ECHO, headers={"Authorization": "Bearer nope"})

    assert english.json()["title"] == "Authentication required"
    assert indonesian.json()["title"] == "Autentikasi diperlukan"


async def test_without_a_configured_admin_key_every_bearer_is_refused() -> None:
    chain = build_authenticator(make_settings(admin_api_key=None))

    assert await chain.authenticate([]) == ANONYMOUS
    with pytest.raises(Unauthenticated):
        await chain.authenticate(["Bearer "])
    with pytest.raises(Unauthenticated):
        await chain.authenticate(["Bearer anything"])


async def test_two_authorization_headers_are_refused() -> None:
    chain = build_authenticator(make_settings())

    with pytest.raises(Unauthenticated):
        await chain.authenticate([f"Bearer {ADMIN_KEY}", f"Bearer {ADMIN_KEY}"])


async def test_the_chain_asks_each_authenticator_in_turn() -> None:
    class Citizen:
        async def authenticate(self, credentials: object) -> None:
            return None

    chain = AuthenticatorChain([Citizen(), *build_authenticator(make_settings()).authenticators])

    principal = await chain.authenticate([f"Bearer {ADMIN_KEY}"])

    assert principal.role is Role.admin


# --- the chain with accounts: bootstrap key, API keys, access tokens ----------------------------


async def test_with_accounts_the_chain_asks_the_bootstrap_key_then_api_keys_then_tokens(
    upstreams: Upstreams, redis_url: str, sessionmaker: SessionMaker
) -> None:
    accounts = AccountsRuntime(accounts_settings(upstreams, redis_url), sessionmaker)

    chain = build_authenticator(accounts.settings, accounts)

    assert [type(a) for a in chain.authenticators] == [
        AdminKeyAuthenticator,
        ApiKeyAuthenticator,
        AccessTokenAuthenticator,
    ]
    assert (await chain.authenticate([f"Bearer {ADMIN_KEY}"])).role is Role.admin
    for unknown in ("Bearer plain-words", "Bearer a.b.c", "Bearer adn_x_y", "Basic a.b.c"):
        with pytest.raises(Unauthenticated):
            await chain.authenticate([unknown])


@pytest.mark.parametrize("credential", ["not-a-key", "a.b.c", "adn_abcdefgh_" + "x" * 40])
async def test_unknown_credentials_are_refused_before_the_services_with_accounts_too(
    accounts_gateway: httpx.AsyncClient, upstreams: Upstreams, credential: str
) -> None:
    request_id = uuid.uuid4().hex

    response = await accounts_gateway.get(
        ECHO, headers={"Authorization": f"Bearer {credential}", "X-Request-ID": request_id}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert request_id not in upstreams.intake.app.state.seen


async def test_the_gateways_own_routes_refuse_unknown_credentials_too(
    accounts_gateway: httpx.AsyncClient,
) -> None:
    response = await accounts_gateway.get("/api/v1/me", headers={"Authorization": "Bearer a.b.c"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
