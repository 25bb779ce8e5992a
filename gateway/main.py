"""The gateway app: `uvicorn gateway.main:app`, or `create_gateway_app(settings)` in tests."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import docs, health, proxy
from gateway.access import AccessLogMiddleware
from gateway.auth import build_authenticator
from gateway.openapi import DESCRIPTION, SYSTEM_GATEWAY, TITLE, OpenAPICache
from gateway.state import GatewayState
from gateway.upstreams import create_clients, create_proxy_sessions
from services.identity import sign_identity
from services.logging import configure_logging
from services.middleware import MetricsMiddleware, RequestContextMiddleware
from services.problems import install_problem_handlers
from services.queue import create_arq_redis
from services.settings import Settings, get_settings


def create_gateway_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.internal_secret is None:
            raise RuntimeError("ADUAN_INTERNAL_SECRET must be set (aduan run generates one)")
        secret = settings.internal_secret.get_secret_value()
        clients = create_clients(settings)
        app.state.gateway = GatewayState(
            settings=settings,
            clients=clients,
            proxies=create_proxy_sessions(settings),
            authenticator=build_authenticator(settings),
            openapi=OpenAPICache(
                app.openapi, clients, lambda: sign_identity(SYSTEM_GATEWAY, secret)
            ),
            redis=create_arq_redis(settings) if settings.redis_url else None,
        )
        try:
            yield
        finally:
            await app.state.gateway.close()

    # The merged /openapi.json and the offline /docs replace FastAPI's own (CDN-based) pages.
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(docs.router)
    docs.mount_swagger_assets(app)
    app.include_router(proxy.router)
    # Added last = outermost. No InternalIdentityMiddleware: the gateway is where identity starts.
    app.add_middleware(MetricsMiddleware, service="gateway")
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app


app = create_gateway_app()
