"""ASGI middleware shared by every service: request ids, internal identity, metrics."""

import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.context import set_trace_id
from services.identity import IDENTITY_HEADER, InvalidIdentity, verify_identity
from services.problems import problem_response
from services.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

REQUESTS = Counter(
    "aduan_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "aduan_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)


class RequestContextMiddleware:
    """Give every request an id (kept from the gateway if sent) and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        set_trace_id(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
                )
            await send(message)

        await self.app(scope, receive, send_with_id)


class InternalIdentityMiddleware:
    """Refuse (401) any request that did not come through the gateway."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        if settings.internal_secret is None:
            raise RuntimeError("ADUAN_INTERNAL_SECRET must be set (aduan run generates one)")
        self.secret = settings.internal_secret.get_secret_value()
        self.max_skew = settings.internal_max_skew_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            principal = verify_identity(
                request.headers.get(IDENTITY_HEADER), self.secret, max_skew=self.max_skew
            )
        except InvalidIdentity as exc:
            response: Response = problem_response(
                request,
                "unauthenticated",
                detail=f"request did not come through the gateway: {exc}",
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


class ObservingMiddleware:
    """Calls `observe(scope, status, seconds)` once per HTTP request, after the answer (500 when
    the app raised before answering). Subclasses record metrics or write the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.observe(scope, status, time.perf_counter() - start)


class MetricsMiddleware(ObservingMiddleware):
    def __init__(self, app: ASGIApp, service: str) -> None:
        super().__init__(app)
        self.service = service

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        # The route template keeps label cardinality bounded (not the raw path).
        route = getattr(scope.get("route"), "path", "unmatched")
        method = scope["method"]
        REQUESTS.labels(self.service, method, route, str(status)).inc()
        LATENCY.labels(self.service, method, route).observe(seconds)
