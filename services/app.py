"""The FastAPI app factory every service uses: errors, request ids, identity, health, metrics."""

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from services import housekeeping
from services.db import SessionMaker
from services.logging import configure_logging
from services.middleware import (
    InternalIdentityMiddleware,
    MetricsMiddleware,
    RequestContextMiddleware,
)
from services.openapi import install_problem_documentation
from services.problems import install_problem_handlers
from services.runtime import Runtime
from services.settings import Settings, get_settings

health = APIRouter(tags=["ops"])


@health.get("/healthz", summary="Liveness", description="200 while the process runs.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def database_check(sessionmaker: SessionMaker) -> str:
    """`ok`, or `error: <exception class>` (readiness reports any fault, never raises)."""
    try:
        async with asyncio.timeout(5), sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


@health.get(
    "/readyz",
    summary="Readiness",
    description="200 only when this service reaches PostgreSQL and Redis; 503 otherwise.",
)
async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, str] = {"database": await database_check(runtime.sessionmaker)}
    try:
        await runtime.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
    )


@health.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Open, like /healthz and /readyz (the identity check lets them through): a "
    "service listens on the internal network only and the gateway never routes here, so only "
    "what can reach the service's own port (a scraper, an operator) reads them. The public "
    "/metrics is the gateway's, behind an ops or admin credential.",
    response_class=Response,
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_service_app(
    name: str,
    routers: Sequence[APIRouter],
    *,
    description: str,
    settings: Settings | None = None,
    chores: Sequence[housekeeping.Chore] = (),
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = Runtime.create(settings)
        tasks = housekeeping.start(app.state.runtime, chores)
        # What start-up made (modules, routes, schemas) lives as long as the process: out of
        # the collector's way, so a full collection walks only what requests make (a large
        # statistics answer triggered one per call, a third of its time).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await housekeeping.stop(tasks)
            await app.state.runtime.close()

    app = FastAPI(
        title=f"Aduan {name}", description=description, version="0.1.0", lifespan=lifespan
    )
    install_problem_handlers(app)
    app.include_router(health)
    for router in routers:
        app.include_router(router)
    install_problem_documentation(app, identity_required=True)
    # Added last = outermost: request id first, then metrics, then identity.
    app.add_middleware(InternalIdentityMiddleware, settings=settings)
    app.add_middleware(MetricsMiddleware, service=name)
    app.add_middleware(RequestContextMiddleware)
    return app
