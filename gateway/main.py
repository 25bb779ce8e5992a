"""The gateway app: `uvicorn gateway.main:app`, or `create_gateway_app(settings)` in tests."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import docs, health, open311, ops_dashboard, proxy
from gateway.access import AccessLogMiddleware
from gateway.accounts import api as accounts_api
from gateway.accounts import keys_api, staff_api
from gateway.accounts.runtime import AccountsRuntime
from gateway.auth import build_authenticator
from gateway.deps import authenticated_principal
from gateway.openapi import DESCRIPTION, SYSTEM_GATEWAY, TITLE, OpenAPICache
from gateway.ratelimit import RateLimiter, RateLimitHeadersMiddleware
from gateway.security import BodyLimitMiddleware, SecurityHeadersMiddleware, install_cors
from gateway.state import GatewayState
from gateway.upstreams import create_clients, create_proxy_sessions
from services.db import SessionMaker, create_engine, create_sessionmaker
from services.deps import get_principal
from services.events.outbox import Publisher
from services.identity import IdentitySigner
from services.logging import configure_logging
from services.middleware import MetricsMiddleware, RequestContextMiddleware
from services.openapi import install_problem_documentation
from services.problems import install_problem_handlers
from services.queue import create_arq_redis
from services.settings import Settings, get_settings
from services.uploads import upload_body_limit


def create_gateway_app(
    settings: Settings | None = None, *, sessionmaker: SessionMaker | None = None
) -> FastAPI:
    """`sessionmaker`: tests pass one bound to their rolled-back connection."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    rate_limiter = RateLimiter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.internal_signing_key is None:
            raise RuntimeError(
                "ADUAN_INTERNAL_SIGNING_KEY must be set (aduan run generates a key pair)"
            )
        signer = IdentitySigner.from_setting(settings.internal_signing_key.get_secret_value())
        clients = create_clients(settings)
        engine = create_engine(settings) if settings.database_url and not sessionmaker else None
        maker = sessionmaker or (create_sessionmaker(engine) if engine else None)
        redis = create_arq_redis(settings) if settings.redis_url else None
        # The fast path of account events, on the gateway's own database (tests that hand in a
        # sessionmaker leave them to the relay).
        publisher = (
            Publisher(settings, redis, maker)
            if engine is not None and maker is not None and redis is not None
            else None
        )
        accounts = AccountsRuntime(settings, maker, publisher) if maker is not None else None
        app.state.gateway = GatewayState(
            settings=settings,
            clients=clients,
            proxies=create_proxy_sessions(settings),
            authenticator=build_authenticator(settings, accounts),
            openapi=OpenAPICache(
                app.openapi,
                clients,
                lambda: signer.sign(SYSTEM_GATEWAY, method="GET", path="/openapi.json"),
            ),
            redis=redis,
            signer=signer,
            engine=engine,
            accounts=accounts,
        )
        metrics_server = health.start_metrics_server(settings)
        try:
            yield
        finally:
            await app.state.gateway.close()
            await rate_limiter.close()
            health.stop_metrics_server(metrics_server)

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
    app.state.settings = settings
    app.state.rate_limiter = rate_limiter
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(docs.router)
    docs.mount_swagger_assets(app)
    app.include_router(ops_dashboard.router)  # the ops dashboard page (issue 10)
    ops_dashboard.mount_ops_assets(app)
    # The gateway's own routes, before the proxy's catch-all; their principal comes from the
    # authenticator chain, not from an identity header (gateway/deps.py).
    for router in (
        accounts_api.auth_router,
        accounts_api.me_router,
        staff_api.router,
        keys_api.router,
    ):
        app.include_router(router)
    app.dependency_overrides[get_principal] = authenticated_principal
    app.include_router(open311.router)  # Open311 GeoReport v2: api_key argument, error lists
    app.include_router(proxy.router)
    install_problem_documentation(app, identity_required=False)
    # Added last = outermost. No InternalIdentityMiddleware: the gateway is where identity starts.
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        upload_limit=upload_body_limit(settings),
    )
    install_cors(app, settings)  # inside the request id and access log: preflights get both
    app.add_middleware(MetricsMiddleware, service="gateway")
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestContextMiddleware)
    # On every answer, whoever made it.
    app.add_middleware(SecurityHeadersMiddleware, trusted_proxies=settings.trusted_proxies)
    return app


app = create_gateway_app()
