"""Real upstream services on loopback ports, and gateways in-process in front of them.

The upstreams are built with the kernel's `create_service_app`, so the identity the gateway
signs is checked by the real InternalIdentityMiddleware; their echo endpoints report what arrived.
"""

import asyncio
import enum
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.main import create_gateway_app
from services.app import create_service_app
from services.context import current_trace_id
from services.db import SessionMaker
from services.models import Account
from services.settings import Settings
from tests.factories import PASSWORD, add_account
from tests.signing import SIGNING_KEY, VERIFY_KEYS

ADMIN_KEY = "gateway-tests-admin-key"
MAX_BODY = 1024
QUEUE_PREFIX = f"gateway-tests-{uuid.uuid4().hex[:8]}"  # keeps our Redis keys apart
ECHO_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": None,
        "redis_url": None,
        "internal_signing_key": SIGNING_KEY,
        "internal_verify_keys": VERIFY_KEYS,
        "admin_api_key": ADMIN_KEY,
        "queue_prefix": QUEUE_PREFIX,
        "max_body_bytes": MAX_BODY,
        "proxy_timeout_seconds": 5.0,
        "intake_url": None,
        "routing_url": None,
        "notifications_url": None,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- upstream apps --------------------------------------------------------------------------


class Level(enum.StrEnum):
    province = "province"
    regency = "regency"


class Category(BaseModel):
    code: str
    name: str


class Endpoint(BaseModel):
    id: str
    url: str


def documented_router(name: str) -> APIRouter:
    """Typed operations, so the merged OpenAPI document has something real to merge."""
    router = APIRouter(tags=[name])
    if name == "intake":

        @router.get("/api/v1/categories", response_model=list[Category], summary="List categories")
        async def categories() -> list[Category]:
            return [Category(code="infrastruktur", name="Infrastruktur")]

        # Same schema name as routing's, different shape: the merge must keep both.
        class Agency(BaseModel):
            id: int
            name: str

        @router.get("/api/v1/regions/{code}/agency", response_model=Agency)
        async def region_agency(code: str) -> Agency:
            return Agency(id=1, name=code)

        @router.post("/internal/reindex", summary="Not routed by the gateway")
        async def reindex() -> dict[str, str]:
            return {"status": "ok"}

        @router.get("/api/v1/complaints/slow")
        async def slow(seconds: float = 3.0) -> dict[str, str]:
            await asyncio.sleep(seconds)
            return {"status": "late"}

    elif name == "routing":

        class Agency(BaseModel):  # type: ignore[no-redef]
            id: int
            name: str
            level: Level

        @router.get("/api/v1/agencies/{agency_id}", response_model=Agency)
        async def agency(agency_id: int) -> Agency:
            return Agency(id=agency_id, name="Pemkab", level=Level.regency)

        @router.get("/api/v1/exports/slow.csv", include_in_schema=False)
        async def slow_export(chunks: int = 4, gap: float = 0.3) -> StreamingResponse:
            """An export that streams for longer than the proxy timeout, a row at a time."""

            async def rows() -> AsyncIterator[bytes]:
                for i in range(chunks):
                    await asyncio.sleep(gap)
                    yield f"row {i}\n".encode()

            return StreamingResponse(rows(), media_type="text/csv")

    else:

        @router.get("/api/v1/webhooks/endpoints", response_model=list[Endpoint])
        async def endpoints() -> list[Endpoint]:
            return []

    return router


def echo_router(name: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def echo(request: Request) -> Response:
        body = await request.body()
        request.app.state.seen.append(request.headers.get("x-request-id"))
        status = int(request.query_params.get("respond_status", "200"))
        if status == 204:
            return Response(status_code=204)
        response = JSONResponse(
            {
                "service": name,
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "query": request.scope["query_string"].decode("latin-1"),
                "body": body.decode("latin-1"),
                "headers": {k: request.headers.getlist(k) for k in request.headers},
                "principal": request.state.principal.model_dump(mode="json"),
                "trace_id": current_trace_id(),  # the service's logging context
            },
            status_code=status,
            headers={"ETag": '"v1"', "X-Upstream": name},
        )
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    router.add_api_route("/api/v1/{rest:path}", echo, methods=ECHO_METHODS)
    router.add_api_route("/open311/{rest:path}", echo, methods=ECHO_METHODS)
    return router


def upstream_app(name: str, settings: Settings) -> FastAPI:
    # A service holds the public key only (it refuses to start with the private one).
    app = create_service_app(
        name,
        [documented_router(name), echo_router(name)],
        description=f"test {name}",
        settings=settings.model_copy(update={"internal_signing_key": None}),
    )
    app.state.seen = []  # X-Request-IDs of the echo requests that reached this service
    return app


# --- servers ----------------------------------------------------------------------------------


class LoopbackServer:
    """uvicorn on a free 127.0.0.1 port, in a task of the session's event loop."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
        )
        self.port = 0
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        for _ in range(500):
            if self.server.started:
                return
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        raise RuntimeError(f"upstream on port {self.port} did not start")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


@dataclass
class Upstreams:
    intake: LoopbackServer
    routing: LoopbackServer
    notifications: LoopbackServer
    sick_notifications: LoopbackServer  # its database is unreachable, so its /readyz is 503


@pytest.fixture(scope="session")
def redis_url(servers: tuple[str, str]) -> str:
    """`servers` (tests/conftest.py): ADUAN_DATABASE_URL / ADUAN_REDIS_URL, else embedded ones."""
    return servers[1]


@pytest.fixture(scope="session")
async def upstreams(servers: tuple[str, str]) -> AsyncIterator[Upstreams]:
    database_url, redis_url = servers
    good = make_settings(database_url=database_url, redis_url=redis_url)
    sick = make_settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere", redis_url=redis_url
    )
    running = Upstreams(
        intake=LoopbackServer(upstream_app("intake", good)),
        routing=LoopbackServer(upstream_app("routing", good)),
        notifications=LoopbackServer(upstream_app("notifications", good)),
        sick_notifications=LoopbackServer(upstream_app("notifications", sick)),
    )
    all_servers = [
        running.intake,
        running.routing,
        running.notifications,
        running.sick_notifications,
    ]
    for server in all_servers:
        await server.start()
    yield running
    for server in all_servers:
        await server.stop()


@asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in-process, lifespan included, behind an httpx client."""
    app = create_gateway_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


@pytest.fixture(scope="session")
async def gateway(upstreams: Upstreams, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Every service up."""
    settings = make_settings(
        redis_url=redis_url,
        intake_url=upstreams.intake.url,
        routing_url=upstreams.routing.url,
        notifications_url=upstreams.notifications.url,
    )
    async with running_gateway(settings) as client:
        yield client


@pytest.fixture(scope="session")
async def broken_gateway(upstreams: Upstreams, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Routing not listening, notifications up but not ready, a short proxy timeout."""
    settings = make_settings(
        redis_url=redis_url,
        intake_url=upstreams.intake.url,
        routing_url=f"http://127.0.0.1:{free_port()}",
        notifications_url=upstreams.sick_notifications.url,
        proxy_timeout_seconds=0.5,
    )
    async with running_gateway(settings) as client:
        yield client


# --- accounts: gateways with the accounts database ---------------------------------------------
# The gateway's sessions run on the test's rolled-back connection (the `sessionmaker` fixture),
# so what a test signs up or creates disappears with it.

JWT_KID = "test-2026"
JWT_KEYS = {JWT_KID: "accounts-tests-access-token-key-0123456789"}


def accounts_settings(upstreams: Upstreams, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "intake_url": upstreams.intake.url,
        "routing_url": upstreams.routing.url,
        "notifications_url": upstreams.notifications.url,
        "jwt_keys": JWT_KEYS,
        # Every test signs in from the same address: only test_accounts counts sign-ins.
        "rate_limits": {"login": "100000/minute"},
    }
    values.update(overrides)
    return make_settings(**values)


@asynccontextmanager
async def running_accounts_gateway(
    settings: Settings, sessionmaker: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_gateway_app(settings, sessionmaker=sessionmaker)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


@pytest.fixture
async def accounts_gateway(
    upstreams: Upstreams, redis_url: str, sessionmaker: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """Every service up, and accounts, tokens and API keys on the test's database connection."""
    async with running_accounts_gateway(
        accounts_settings(upstreams, redis_url), sessionmaker
    ) as client:
        yield client


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, otp: str | None = None
) -> httpx.Response:
    """POST /api/v1/auth/token, the OAuth2 password grant."""
    form = {"grant_type": "password", "username": email, "password": password}
    if otp is not None:
        form["otp"] = otp
    return await client.post("/api/v1/auth/token", data=form)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class SignedIn:
    account: Account
    tokens: dict[str, Any]  # the token endpoint's answer

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.tokens["access_token"])


SignInAs = Callable[..., Awaitable[SignedIn]]


@pytest.fixture
def sign_in_as(accounts_gateway: httpx.AsyncClient, session: AsyncSession) -> SignInAs:
    """`await sign_in_as(role="coordinator", agency_id=...)`: a new account (tests/factories.py
    add_account) signed in through the real token endpoint of `accounts_gateway`."""

    async def signed_in(**account: Any) -> SignedIn:
        row = await add_account(session, **account)
        response = await sign_in(accounts_gateway, row.email)
        assert response.status_code == 200, response.text
        return SignedIn(row, response.json())

    return signed_in
