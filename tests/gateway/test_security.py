"""Security headers on every gateway answer, the CORS allow-list, and /metrics for ops and
admins only (or on a port of its own)."""

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.auth import AuthenticatorChain, Credentials
from gateway.main import create_gateway_app
from gateway.upstreams import upstream_for
from services.embedded import free_port
from services.principal import Principal, PrincipalKind, Role
from tests.gateway.conftest import ADMIN_KEY, MAX_BODY, Upstreams, make_settings

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ORIGIN = "https://lapor.example.go.id"
# Credentials a stand-in authenticator accepts, and the principal each proves.
ROLES = {
    "ops-token": Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="ops-1"),
    "citizen-token": Principal(kind=PrincipalKind.user, role=Role.citizen, subject="c-1"),
}


class StandInAuthenticator:
    async def authenticate(self, credentials: Credentials) -> Principal | None:
        return ROLES.get(credentials.token)


@asynccontextmanager
async def serving(
    upstreams: Upstreams, redis_url: str, *, scheme: str = "http", **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "intake_url": upstreams.intake.url,
        "routing_url": upstreams.routing.url,
        "notifications_url": upstreams.notifications.url,
        "rate_limits_enabled": False,
    }
    values.update(overrides)
    app = create_gateway_app(make_settings(**values))
    async with app.router.lifespan_context(app):
        state = app.state.gateway
        state.authenticator = AuthenticatorChain(
            [StandInAuthenticator(), *state.authenticator.authenticators]
        )
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url=f"{scheme}://gateway.test"
        ) as client:
            yield app, client


@pytest.fixture
async def gateway(upstreams: Upstreams, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(upstreams, redis_url) as (_, client):
        yield client


@pytest.mark.parametrize(
    "path", ["/api/v1/categories", "/api/v1/agencies/1", "/healthz", "/openapi.json", "/nowhere"]
)
async def test_every_answer_carries_the_security_headers(
    gateway: httpx.AsyncClient, path: str
) -> None:
    response = await gateway.get(path)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain http


async def test_problem_answers_carry_them_too(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/v1/categories", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


async def test_over_https_the_answer_asks_for_https_only(
    upstreams: Upstreams, redis_url: str
) -> None:
    async with serving(upstreams, redis_url, scheme="https") as (_, client):
        response = await client.get("/healthz")

    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_https_at_a_trusted_proxy_counts_as_https(
    upstreams: Upstreams, redis_url: str
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    async with serving(upstreams, redis_url) as (_, untrusted):
        spoofed = await untrusted.get("/healthz", headers=https)
    async with serving(upstreams, redis_url, trusted_proxies=["203.0.113.0/24"]) as (_, client):
        forwarded = await client.get("/healthz", headers=https)

    assert "strict-transport-security" not in spoofed.headers
    assert forwarded.headers["strict-transport-security"].startswith("max-age=")


async def test_the_docs_page_still_loads_under_its_content_security_policy(
    gateway: httpx.AsyncClient,
) -> None:
    page = await gateway.get("/docs")

    assert page.status_code == 200
    csp = {
        name: sources
        for name, _, sources in (
            directive.partition(" ")
            for directive in page.headers["content-security-policy"].split("; ")
        )
    }
    # Its one inline script is allowed by hash, its assets come from the gateway itself.
    (inline,) = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp["script-src"].split()
    assert "'self'" in csp["script-src"].split()
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'self'" in csp["style-src"] and "data:" in csp["img-src"]
    assert csp["connect-src"] == "'self'"  # "Try it out" and /openapi.json
    for asset in re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', page.text):
        loaded = await gateway.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.headers["x-content-type-options"] == "nosniff"
    assert (await gateway.get("/openapi.json")).status_code == 200


async def test_without_configured_origins_there_are_no_cors_headers(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/api/v1/categories", headers={"Origin": ORIGIN})
    preflight = await gateway.options(
        "/api/v1/complaints",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )

    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_an_allowed_origin_gets_cors_headers_and_others_do_not(
    upstreams: Upstreams, redis_url: str
) -> None:
    async with serving(upstreams, redis_url, cors_origins=[ORIGIN + "/"]) as (_, client):
        allowed = await client.get("/api/v1/categories", headers={"Origin": ORIGIN})
        other = await client.get("/api/v1/categories", headers={"Origin": "https://evil.example"})
        preflight = await client.options(
            "/api/v1/complaints",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        refused = await client.options(
            "/api/v1/complaints",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )

    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    exposed = allowed.headers["access-control-expose-headers"].lower()
    assert {"retry-after", "ratelimit", "ratelimit-policy", "x-request-id"} <= set(
        exposed.replace(" ", "").split(",")
    )
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["x-frame-options"] == "DENY"
    assert refused.status_code == 400


async def test_metrics_need_credentials(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/metrics")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_metrics_are_not_for_citizens(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/metrics", headers={"Authorization": "Bearer citizen-token"})

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("credential", [ADMIN_KEY, "ops-token"])
async def test_ops_and_admins_read_the_metrics(gateway: httpx.AsyncClient, credential: str) -> None:
    response = await gateway.get("/metrics", headers={"Authorization": f"Bearer {credential}"})

    assert response.status_code == 200
    assert "aduan_http_requests_total" in response.text


async def test_a_metrics_port_serves_them_without_credentials(
    upstreams: Upstreams, redis_url: str
) -> None:
    port = free_port()
    async with serving(upstreams, redis_url, metrics_port=port) as (_, client):
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        public = await client.get("/metrics")

    assert scraped.status_code == 200
    assert "aduan_http_requests_total" in scraped.text
    assert public.status_code == 401  # the public one still wants a credential
    with pytest.raises(httpx.ConnectError):  # stopped with the gateway
        async with httpx.AsyncClient() as scraper:
            await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=1)


async def test_a_services_metrics_are_open_on_its_own_port_and_never_routed_by_the_gateway(
    upstreams: Upstreams, gateway: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=upstreams.intake.url) as internal:
        direct = await internal.get("/metrics")  # no identity header: an internal scraper
    through_gateway = await gateway.get("/api/v1/../metrics")

    assert direct.status_code == 200
    assert upstream_for("/metrics") is None
    assert through_gateway.status_code in {401, 404}  # the gateway's own, or nothing


async def test_the_gateways_own_routes_refuse_bodies_over_the_limit(
    accounts_gateway: httpx.AsyncClient,
) -> None:
    # The limit of the test gateways is MAX_BODY bytes (tests/gateway/conftest.py).
    declared = await accounts_gateway.post(
        "/api/v1/auth/register",
        content=b"{" + b" " * MAX_BODY + b"}",
        headers={"content-type": "application/json"},
    )

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b" " * (MAX_BODY // 2)

    streamed = await accounts_gateway.post(
        "/api/v1/auth/register", content=stream(), headers={"content-type": "application/json"}
    )

    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "payload_too_large"
