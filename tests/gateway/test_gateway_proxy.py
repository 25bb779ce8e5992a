"""Proxying: routing table, what is forwarded and stripped, limits, and upstream failures."""

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import Message, Scope

from gateway.main import create_gateway_app
from services.identity import IDENTITY_HEADER
from services.principal import Principal, PrincipalKind, Role
from tests.gateway.conftest import MAX_BODY, Upstreams, make_settings, running_gateway
from tests.signing import SIGNER

ECHO = "/api/v1/complaints/echo"


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/complaints", "intake"),
        ("/api/v1/complaints/ADU-1/comments", "intake"),
        ("/api/v1/categories/x", "intake"),
        ("/api/v1/regions/11.01", "intake"),
        ("/open311/v2/services.json", "intake"),
        ("/api/v1/agencies", "routing"),
        ("/api/v1/agencies/7/inbox", "routing"),
        ("/api/v1/webhooks", "notifications"),
        ("/api/v1/webhooks/endpoints/1/rotate", "notifications"),
    ],
)
async def test_each_prefix_reaches_its_service(
    gateway: httpx.AsyncClient, path: str, service: str
) -> None:
    response = await gateway.post(path)

    assert response.status_code == 200
    assert response.json()["service"] == service
    assert response.json()["path"] == path


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/unknown",
        "/api/v1/complaintsX",
        "/api/v1/complaints/%2E%2E/webhooks/endpoints",
        "/api/v1",
        "/nothing",
    ],
)
async def test_unrouted_paths_are_404_problems(gateway: httpx.AsyncClient, path: str) -> None:
    response = await gateway.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


async def test_method_path_query_and_body_are_forwarded(gateway: httpx.AsyncClient) -> None:
    response = await gateway.put(
        "/api/v1/agencies/a%2Fb?q=jalan%20rusak&page=2&page=3",
        content=b'{"name": "Dinas PU"}',
        headers={"Content-Type": "application/json"},
    )

    echoed = response.json()
    assert echoed["method"] == "PUT"
    assert echoed["raw_path"] == "/api/v1/agencies/a%2Fb"
    assert echoed["query"] == "q=jalan%20rusak&page=2&page=3"
    assert echoed["body"] == '{"name": "Dinas PU"}'
    assert echoed["headers"]["content-type"] == ["application/json"]


async def test_forged_identity_header_is_replaced(gateway: httpx.AsyncClient) -> None:
    # Even a correctly signed header (a leaked one) must not let a caller choose its identity.
    forged = SIGNER.sign(
        Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="admin"),
        method="GET",
        path=ECHO,
    )

    response = await gateway.get(ECHO, headers={IDENTITY_HEADER: forged})

    echoed = response.json()
    assert echoed["principal"]["role"] == "anonymous"
    assert echoed["headers"][IDENTITY_HEADER.lower()] != [forged]
    assert len(echoed["headers"][IDENTITY_HEADER.lower()]) == 1


async def test_only_whitelisted_headers_are_forwarded(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        ECHO,
        json={"a": 1},
        headers={
            "Accept": "application/json",
            "Accept-Language": "en",
            "Idempotency-Key": "key-1",
            "If-Match": '"v3"',
            "If-None-Match": '"v2"',
            "Cookie": "session=secret",
            "X-Custom": "nope",
            "Authorization": "Bearer gateway-tests-admin-key",
        },
    )

    headers = response.json()["headers"]
    assert headers["accept"] == ["application/json"]
    assert headers["accept-language"] == ["en"]
    assert headers["idempotency-key"] == ["key-1"]
    assert headers["if-match"] == ['"v3"']
    assert headers["if-none-match"] == ['"v2"']
    assert headers["content-type"] == ["application/json"]
    assert headers["x-forwarded-for"] == ["203.0.113.7"]
    for stripped in ("authorization", "cookie", "x-custom"):
        assert stripped not in headers


async def test_upstream_status_headers_and_body_come_back(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(f"{ECHO}?respond_status=201", json={"a": 1})

    assert response.status_code == 201
    assert response.headers["etag"] == '"v1"'
    assert response.headers["x-upstream"] == "intake"
    assert sorted(response.headers.get_list("set-cookie")) == [
        "a=1; Path=/; SameSite=lax",
        "b=2; Path=/; SameSite=lax",
    ]
    assert len(response.headers.get_list("x-request-id")) == 1
    assert int(response.headers["content-length"]) == len(response.content)
    assert "transfer-encoding" not in response.headers
    assert response.json()["service"] == "intake"


async def test_no_content_is_relayed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.delete("/api/v1/webhooks/endpoints/1?respond_status=204")

    assert response.status_code == 204
    assert response.content == b""


async def test_caller_request_id_is_propagated(
    gateway: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    request_id = f"mobile-{uuid.uuid4()}"

    response = await gateway.get(ECHO, headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id
    assert response.json()["headers"]["x-request-id"] == [request_id]
    assert request_id in upstreams.intake.app.state.seen


async def test_overlong_request_id_is_replaced(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(ECHO, headers={"X-Request-ID": "r" * 65})

    generated = response.headers["x-request-id"]
    assert generated != "r" * 65
    assert 0 < len(generated) <= 64
    assert response.json()["headers"]["x-request-id"] == [generated]


async def test_body_at_the_limit_is_forwarded(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(ECHO, content=b"x" * MAX_BODY)

    assert response.status_code == 200
    assert len(response.json()["body"]) == MAX_BODY


async def _assert_413(response: httpx.Response, upstreams: Upstreams, request_id: str) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert request_id not in upstreams.intake.app.state.seen


async def test_body_over_the_limit_is_413(gateway: httpx.AsyncClient, upstreams: Upstreams) -> None:
    request_id = uuid.uuid4().hex
    response = await gateway.post(
        ECHO, content=b"x" * (MAX_BODY + 1), headers={"X-Request-ID": request_id}
    )

    await _assert_413(response, upstreams, request_id)


async def test_a_lying_content_length_does_not_pass(
    gateway: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    request_id = uuid.uuid4().hex
    response = await gateway.post(
        ECHO,
        content=b"x" * (MAX_BODY * 3),
        headers={"Content-Length": "10", "X-Request-ID": request_id},
    )

    await _assert_413(response, upstreams, request_id)


async def test_a_chunked_body_over_the_limit_is_413(
    gateway: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * (MAX_BODY // 2)

    request_id = uuid.uuid4().hex
    response = await gateway.post(ECHO, content=chunks(), headers={"X-Request-ID": request_id})

    assert "content-length" not in response.request.headers
    await _assert_413(response, upstreams, request_id)


async def test_unreachable_service_is_502(broken_gateway: httpx.AsyncClient) -> None:
    response = await broken_gateway.get("/api/v1/agencies")

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "bad_gateway"
    assert "routing" in response.json()["detail"]


async def test_slow_service_is_504(broken_gateway: httpx.AsyncClient) -> None:
    # The service would answer 200 after 3 s; the gateway's 0.5 s timeout answers first.
    response = await broken_gateway.get(
        "/api/v1/complaints/slow?seconds=3", headers={"Accept-Language": "en"}
    )

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "gateway_timeout"
    assert response.json()["title"] == "Upstream service timed out"


async def test_an_export_streams_for_longer_than_the_proxy_timeout(
    upstreams: Upstreams, redis_url: str
) -> None:
    # Four rows 0.3 s apart: 1.2 s in all against a 0.5 s timeout, which bounds each wait only.
    settings = make_settings(
        redis_url=redis_url,
        intake_url=upstreams.intake.url,
        routing_url=upstreams.routing.url,
        notifications_url=upstreams.notifications.url,
        proxy_timeout_seconds=0.5,
    )
    async with running_gateway(settings) as client:
        response = await client.get("/api/v1/exports/slow.csv?chunks=4&gap=0.3")

    assert response.status_code == 200, response.text
    assert response.text == "row 0\nrow 1\nrow 2\nrow 3\n"


async def test_cookies_set_by_a_service_are_not_replayed_for_other_callers(
    gateway: httpx.AsyncClient,
) -> None:
    first = await gateway.get(ECHO)
    assert first.headers.get_list("set-cookie")  # the echo service sets cookies

    second = await gateway.get(ECHO)

    # The caller's own Cookie header is never forwarded, so any cookie here is the gateway's.
    assert "cookie" not in second.json()["headers"]


async def test_a_caller_hanging_up_mid_body_is_not_a_server_error(
    upstreams: Upstreams, redis_url: str
) -> None:
    app = create_gateway_app(make_settings(intake_url=upstreams.intake.url, redis_url=redis_url))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": ECHO,
        "raw_path": ECHO.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"gateway.test"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway.test", 80),
    }
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 499


async def test_anonymous_callers_get_an_opaque_id_per_address(upstreams: Upstreams) -> None:
    # Anonymous callers' idempotency keys are scoped per client; the services see a keyed
    # hash of the address, never the address.
    settings = make_settings(intake_url=upstreams.intake.url)
    app = create_gateway_app(settings)
    seen = []
    async with app.router.lifespan_context(app):
        for address in ("203.0.113.7", "203.0.113.7", "198.51.100.23"):
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
                echoed = (await client.get(ECHO)).json()
            seen.append(echoed["principal"]["client"])
            assert address not in json.dumps(echoed["principal"])
    assert seen[0] == seen[1] != seen[2]
    assert all(seen)
