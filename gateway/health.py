"""Liveness, readiness of the whole platform as seen from the edge, and Prometheus metrics."""

import asyncio
from typing import Annotated
from wsgiref.simple_server import WSGIServer

import httpx
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from pydantic import BaseModel, Field

from gateway.proxy import authenticate
from gateway.state import GatewayState, StateDep
from services.app import database_check
from services.logging import get_logger
from services.policy import Permission, authorize
from services.principal import Principal
from services.problems import PROBLEM_MEDIA_TYPE, Problem
from services.queue import queue_name
from services.settings import Settings

CHECK_TIMEOUT_SECONDS = 3.0
WORKERS = ("routing", "notifications")  # the arq consumers, by queue
log = get_logger(__name__)

router = APIRouter(tags=["ops"])


class Liveness(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(description="`ok` or `unavailable`", examples=["ok"])
    checks: dict[str, str] = Field(
        description="Gating checks: each service's own /readyz (database and Redis), Redis "
        "and the accounts database as the gateway sees them. `ok`, or `error: ...` with the "
        "reason.",
        examples=[{"intake": "ok", "routing": "ok", "notifications": "ok", "redis": "ok"}],
    )
    workers: dict[str, str] = Field(
        description="Informational, not gating: `ok` while the arq worker's health-check key "
        "exists in Redis, `missing` otherwise, `unknown` when Redis is unreachable.",
        examples=[{"routing": "ok", "notifications": "ok"}],
    )


async def _service_check(client: httpx.AsyncClient) -> str:
    try:
        response = await client.get("/readyz", timeout=CHECK_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return f"error: unreachable ({exc.__class__.__name__})"
    if response.status_code == 200:
        return "ok"
    try:
        failing = [f"{k}={v}" for k, v in response.json()["checks"].items() if v != "ok"]
    except (ValueError, KeyError, TypeError, AttributeError):
        failing = []
    reason = f" ({'; '.join(failing)})" if failing else ""
    return f"error: HTTP {response.status_code}{reason}"


async def _redis_check(state: GatewayState) -> str:
    if state.redis is None:
        return "error: ADUAN_REDIS_URL is not set"
    try:
        await asyncio.wait_for(state.redis.ping(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # readiness reports any fault
        return f"error: {exc.__class__.__name__}"
    return "ok"


async def _worker_check(state: GatewayState, consumer: str) -> str:
    if state.redis is None:
        return "unknown"
    # arq refreshes `<queue>:health-check` with an expiry while the worker runs.
    key = f"{queue_name(state.settings, consumer)}:health-check"
    try:
        found = await asyncio.wait_for(state.redis.exists(key), CHECK_TIMEOUT_SECONDS)
    except Exception:  # informational only
        return "unknown"
    return "ok" if found else "missing"


@router.get(
    "/healthz",
    summary="Liveness of the gateway",
    description="200 while the gateway process runs; checks nothing else.",
    response_model=Liveness,
)
async def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/readyz",
    summary="Readiness of the platform",
    description="Asks every service's `/readyz` (each checks its PostgreSQL and Redis) and pings "
    "Redis, all concurrently. 200 only when every check is `ok`, else 503 with the reasons. "
    "Worker liveness is reported but does not gate readiness.",
    response_model=Readiness,
    responses={
        503: {
            "model": Readiness,
            "description": "At least one check failed",
            "content": {
                "application/json": {
                    "example": {
                        "status": "unavailable",
                        "checks": {
                            "intake": "ok",
                            "routing": "error: unreachable (ConnectError)",
                            "notifications": "error: HTTP 503 (database=error: OSError)",
                            "redis": "ok",
                        },
                        "workers": {"routing": "missing", "notifications": "ok"},
                    }
                }
            },
        }
    },
)
async def readyz(state: StateDep) -> JSONResponse:
    services, redis, workers = await asyncio.gather(
        asyncio.gather(*(_service_check(client) for client in state.clients.values())),
        _redis_check(state),
        asyncio.gather(*(_worker_check(state, consumer) for consumer in WORKERS)),
    )
    checks = {**dict(zip(state.clients, services, strict=True)), "redis": redis}
    if state.accounts is not None:  # the accounts database: sign-in and API keys need it
        checks["database"] = await database_check(state.accounts.sessionmaker)
    ok = all(value == "ok" for value in checks.values())
    body = Readiness(
        status="ok" if ok else "unavailable",
        checks=checks,
        workers=dict(zip(WORKERS, workers, strict=True)),
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def metrics_reader(request: Request, state: StateDep) -> Principal:
    """An ops or admin credential (the bootstrap admin key works)."""
    principal = await authenticate(request, state)
    authorize(principal, Permission.ops_read)
    return principal


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Request counts and latencies of the gateway, and of its calls to each service "
    "(`aduan_gateway_upstream_*`), in the Prometheus text format. Needs an ops or admin "
    "credential; with `ADUAN_METRICS_PORT` set they are also served without one on that port "
    "(for a scraper on the internal network).",
    response_class=Response,
    responses={
        200: {
            "content": {
                CONTENT_TYPE_LATEST: {
                    "example": 'aduan_gateway_upstream_requests_total{outcome="201",'
                    'upstream="intake"} 3.0\n'
                }
            }
        },
        401: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": "No credentials",
        },
        403: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": "Credentials of a role other than ops or admin",
        },
    },
)
async def metrics(_reader: Annotated[Principal, Depends(metrics_reader)]) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def start_metrics_server(settings: Settings) -> WSGIServer | None:
    """/metrics without credentials on ADUAN_METRICS_HOST:ADUAN_METRICS_PORT, when set (a
    thread of this process). A port already taken (a second gateway process on the host) is
    logged, not fatal: the public /metrics still answers ops and admins."""
    if settings.metrics_port is None:
        return None
    try:
        server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as exc:
        log.error(
            "metrics not served on %s:%s: %s", settings.metrics_host, settings.metrics_port, exc
        )
        return None
    return server


def stop_metrics_server(server: WSGIServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
