"""Rate limits at the gateway: moving windows in the real Redis, per client address and per
principal, by route group; 429 problems with Retry-After and the IETF RateLimit headers."""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from gateway.main import create_gateway_app
from gateway.ratelimit import RateLimited, get_limiter, storage_uri
from gateway.security import resolve_client_ip
from services.embedded import free_port
from tests.gateway.conftest import ADMIN_KEY, Upstreams, make_settings

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PEER = "203.0.113.7"
_ITEM = re.compile(r'^"(?P<name>[^"]+)"(?P<params>(?:;[a-z]+=\d+)*)$')


def parse_rate_limit(header: str) -> dict[str, dict[str, int]]:
    """`"ip";q=10;w=60, "login";q=3;w=60` -> {"ip": {"q": 10, "w": 60}, "login": {...}}."""
    items: dict[str, dict[str, int]] = {}
    for member in header.split(","):
        match = _ITEM.match(member.strip())
        assert match, f"not a structured-field item: {member!r}"
        params = [p.split("=") for p in match["params"].split(";") if p]
        items[match["name"]] = {key: int(value) for key, value in params}
    return items


def assert_refused(response: httpx.Response, group: str, quota: int, window: int = 60) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    policy = parse_rate_limit(response.headers["ratelimit-policy"])
    assert policy[group] == {"q": quota, "w": window}
    state = parse_rate_limit(response.headers["ratelimit"])
    assert state[group]["r"] == 0
    assert 1 <= state[group]["t"] <= window


def complaint() -> dict[str, Any]:
    return {"title": "Jalan berlubang", "region_code": "11.01.01"}


@asynccontextmanager
async def limited_gateway(
    upstreams: Upstreams,
    redis_url: str,
    *,
    peer: str = PEER,
    app_hook: Any = None,
    **overrides: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway in-process whose windows are this test's own (a fresh key prefix)."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "intake_url": upstreams.intake.url,
        "routing_url": upstreams.routing.url,
        "notifications_url": upstreams.notifications.url,
        "queue_prefix": f"ratelimit-tests-{uuid.uuid4().hex[:10]}",
    }
    values.update(overrides)
    app = create_gateway_app(make_settings(**values))
    if app_hook is not None:
        app_hook(app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


async def test_the_61st_anonymous_create_in_a_minute_is_refused(
    upstreams: Upstreams, redis_url: str
) -> None:
    async with limited_gateway(upstreams, redis_url) as gateway:
        for n in range(60):
            response = await gateway.post("/api/v1/complaints", json=complaint())
            assert response.status_code == 200, (n, response.text)  # the echo upstream

        refused = await gateway.post("/api/v1/complaints", json=complaint())

    assert_refused(refused, "anonymous_create", 60)
    assert refused.json()["title"] == "Terlalu banyak permintaan"
    assert "anonymous_create" in refused.json()["detail"]


async def test_answers_in_a_limited_group_say_how_much_is_left(
    upstreams: Upstreams, redis_url: str
) -> None:
    async with limited_gateway(upstreams, redis_url) as gateway:
        first = await gateway.post("/api/v1/complaints", json=complaint())
        second = await gateway.post("/api/v1/complaints", json=complaint())

    assert first.status_code == second.status_code == 200
    assert parse_rate_limit(first.headers["ratelimit-policy"]) == {
        "anonymous_create": {"q": 60, "w": 60},
        "ip": {"q": 2400, "w": 60},
    }
    before = parse_rate_limit(first.headers["ratelimit"])
    after = parse_rate_limit(second.headers["ratelimit"])
    assert before["anonymous_create"]["r"] == 59
    assert after["anonymous_create"]["r"] == 58
    assert after["ip"]["r"] == 2398
    assert 0 < after["anonymous_create"]["t"] <= 60


async def test_open311_posts_count_as_anonymous_creates_too(
    upstreams: Upstreams, redis_url: str
) -> None:
    limits = {"anonymous_create": "2/minute"}
    async with limited_gateway(upstreams, redis_url, rate_limits=limits) as gateway:
        assert (await gateway.post("/open311/v2/requests.json", data={"a": "1"})).status_code == 200
        assert (await gateway.post("/api/v1/complaints", json=complaint())).status_code == 200
        refused = await gateway.post("/open311/v2/requests.json", data={"a": "1"})

    # GeoReport clients get the spec's error list, with the same rate-limit headers.
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/json"
    [error] = refused.json()
    assert error["code"] == 429 and error["description"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert parse_rate_limit(refused.headers["ratelimit-policy"])["anonymous_create"] == {
        "q": 2,
        "w": 60,
    }


async def test_reads_are_not_creates_but_count_per_address(
    upstreams: Upstreams, redis_url: str
) -> None:
    limits = {"anonymous_create": "1/minute", "ip": "3/minute"}
    async with limited_gateway(upstreams, redis_url, rate_limits=limits) as gateway:
        answers = [await gateway.get("/api/v1/complaints/ADN-7K3QX9P2") for _ in range(3)]
        refused = await gateway.get("/api/v1/complaints/ADN-7K3QX9P2")

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "anonymous_create" not in answers[0].headers["ratelimit-policy"]
    assert_refused(refused, "ip", 3)


async def test_an_authenticated_caller_is_counted_per_principal_not_as_anonymous(
    upstreams: Upstreams, redis_url: str
) -> None:
    limits = {"anonymous_create": "1/minute", "principal": "2/minute"}
    async with limited_gateway(upstreams, redis_url, rate_limits=limits) as gateway:
        first = await gateway.post("/api/v1/complaints", json=complaint(), headers=ADMIN)
        second = await gateway.post("/api/v1/complaints", json=complaint(), headers=ADMIN)
        refused = await gateway.get("/api/v1/agencies/1", headers=ADMIN)
        # The anonymous window of the same address is untouched by the admin's creates.
        anonymous = await gateway.post("/api/v1/complaints", json=complaint())

    assert first.status_code == second.status_code == 200
    assert set(parse_rate_limit(first.headers["ratelimit-policy"])) == {"principal", "ip"}
    assert_refused(refused, "principal", 2)
    assert anonymous.status_code == 200


async def test_the_refusal_speaks_english_when_asked(upstreams: Upstreams, redis_url: str) -> None:
    limits = {"anonymous_create": "1/minute"}
    english = {"Accept-Language": "en"}
    async with limited_gateway(upstreams, redis_url, rate_limits=limits) as gateway:
        await gateway.post("/api/v1/complaints", json=complaint())
        refused = await gateway.post("/api/v1/complaints", json=complaint(), headers=english)

    assert refused.status_code == 429
    assert refused.json()["title"] == "Too many requests"


async def test_x_forwarded_for_from_an_untrusted_peer_changes_nothing(
    upstreams: Upstreams, redis_url: str
) -> None:
    limits = {"anonymous_create": "1/minute"}
    async with limited_gateway(upstreams, redis_url, rate_limits=limits) as gateway:
        first = await gateway.post(
            "/api/v1/complaints", json=complaint(), headers={"X-Forwarded-For": "198.51.100.1"}
        )
        second = await gateway.post(
            "/api/v1/complaints", json=complaint(), headers={"X-Forwarded-For": "198.51.100.2"}
        )

    assert first.status_code == 200
    assert_refused(second, "anonymous_create", 1)


async def test_behind_a_trusted_proxy_each_client_has_its_own_window(
    upstreams: Upstreams, redis_url: str
) -> None:
    limits = {"anonymous_create": "1/minute"}
    async with limited_gateway(
        upstreams, redis_url, rate_limits=limits, trusted_proxies=["203.0.113.0/24"]
    ) as gateway:

        async def create(forwarded_for: str) -> httpx.Response:
            headers = {"X-Forwarded-For": forwarded_for}
            return await gateway.post("/api/v1/complaints", json=complaint(), headers=headers)

        one = await create("198.51.100.1")
        two = await create("198.51.100.2")
        # What the client wrote left of the address our proxy saw proves nothing.
        again = await create("192.0.2.99, 198.51.100.1")

    assert one.status_code == two.status_code == 200
    assert_refused(again, "anonymous_create", 1)


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("203.0.113.7", [], "203.0.113.7"),
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),  # the peer is no trusted proxy
        ("10.0.0.5", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.5", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.5", ["198.51.100.1, 10.0.0.9"], "198.51.100.1"),  # two proxies
        ("10.0.0.5", ["198.51.100.1", "10.0.0.9"], "198.51.100.1"),  # two header lines
        ("10.0.0.5", ["10.0.0.8, 10.0.0.9"], "10.0.0.8"),  # all trusted: the left-most
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["2001:db8::1"], "2001:db8::1"),
        ("10.0.0.5", ["not-an-address"], "not-an-address"),
    ],
)
def test_the_client_address(peer: str, forwarded_for: list[str], client: str) -> None:
    trusted = [ip_network("10.0.0.0/8")]

    assert resolve_client_ip(peer, forwarded_for, trusted) == client


async def test_with_limits_off_nothing_is_counted(upstreams: Upstreams, redis_url: str) -> None:
    limits = {"anonymous_create": "1/minute"}
    async with limited_gateway(
        upstreams, redis_url, rate_limits=limits, rate_limits_enabled=False
    ) as gateway:
        answers = [await gateway.post("/api/v1/complaints", json=complaint()) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "ratelimit" not in answers[-1].headers


async def test_without_redis_requests_pass_uncounted_with_a_warning(
    upstreams: Upstreams, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    limits = {"anonymous_create": "1/minute"}
    async with limited_gateway(upstreams, nowhere, rate_limits=limits) as gateway:
        answers = [await gateway.post("/api/v1/complaints", json=complaint()) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "ratelimit" not in answers[0].headers
    warnings = [r for r in caplog.records if "rate limits not applied" in r.getMessage()]
    assert len(warnings) == 1  # then it stops asking Redis for a while


def add_login_route(app: FastAPI) -> None:
    @app.post("/test-login", dependencies=[Depends(RateLimited("login"))])
    async def login(request: Request) -> dict[str, str]:
        # A second window for the account, as the real login route may add.
        await get_limiter(request).check(request, [("login", "account:siti@example.id")])
        return {"status": "ok"}


async def test_a_gateway_route_can_be_limited_with_the_dependency(
    upstreams: Upstreams, redis_url: str
) -> None:
    limits = {"login": "2/minute"}
    async with limited_gateway(
        upstreams, redis_url, rate_limits=limits, app_hook=add_login_route
    ) as gateway:
        first = await gateway.post("/test-login")
        second = await gateway.post("/test-login")
        refused = await gateway.post("/test-login")

    assert first.status_code == second.status_code == 200
    assert first.headers["ratelimit-policy"] == '"login";q=2;w=60'
    assert parse_rate_limit(second.headers["ratelimit"])["login"]["r"] == 0
    assert_refused(refused, "login", 2)


def test_the_dependency_knows_only_configured_groups() -> None:
    with pytest.raises(ValueError, match="unknown rate limit group"):
        RateLimited("logins")


def test_a_malformed_limit_stops_the_gateway_from_starting() -> None:
    with pytest.raises(ValueError, match="couldn't parse"):
        create_gateway_app(make_settings(rate_limits={"login": "ten a minute"}))


def test_the_limits_storage_uri_follows_the_redis_url() -> None:
    assert storage_uri("redis://127.0.0.1:6379/0") == "async+redis://127.0.0.1:6379/0"
    assert storage_uri("rediss://h:6380/1") == "async+rediss://h:6380/1"
    assert storage_uri("unix:///tmp/r.sock") == "async+redis+unix:///tmp/r.sock"
