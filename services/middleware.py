"""ASGI middleware shared by every service: request ids, internal identity, metrics."""

import hashlib
import time
import uuid
from typing import IO

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.context import trace_context
from services.identity import IDENTITY_HEADER, IdentityVerifier, InvalidIdentity, b64_digest
from services.problems import problem_response
from services.settings import Settings
from services.tracing import incoming_or_new
from services.uploads import CHUNK, body_limit, spool

REQUEST_ID_HEADER = "X-Request-ID"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

REQUESTS = Counter(
    "aduan_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "aduan_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)


class RequestContextMiddleware:
    """Give every request an id (kept from the gateway if sent) and echo it back; keep the
    caller's W3C trace (`traceparent`) or start one, with a span id of this hop. Both ids go in
    the logging context (services.context) and in `scope["state"]` (`request_id`, `trace`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        traceparents: list[str] = []
        for name, value in scope["headers"]:
            if name == b"x-request-id" and not incoming:
                incoming = value.decode("latin-1")
            elif name == b"traceparent":
                traceparents.append(value.decode("latin-1"))
        request_id = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex
        trace, _kept = incoming_or_new(traceparents)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["trace"] = trace

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
                )
            await send(message)

        with trace_context(trace.trace_id, request_id):
            await self.app(scope, receive, send_with_id)


class InternalIdentityMiddleware:
    """Refuse (401) any request that did not come through the gateway: its identity header must
    be signed by the gateway's key for this very request (method, path, query, request id and
    body), recently. The body is read here to check its hash, then handed on to the app:
    held in memory while small, spooled to disk beyond (a file upload's), replayed in chunks.

    A service holds public keys only; it refuses to start with the gateway's private key."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        if settings.internal_signing_key is not None:
            raise RuntimeError(
                "ADUAN_INTERNAL_SIGNING_KEY belongs to the gateway alone: a service holding it "
                "could sign any identity. Give the services ADUAN_INTERNAL_VERIFY_KEYS only."
            )
        if not settings.internal_verify_keys:
            raise RuntimeError(
                "ADUAN_INTERNAL_VERIFY_KEYS must be set (aduan run generates a key pair)"
            )
        self.verifier = IdentityVerifier.from_setting(
            settings.internal_verify_keys,
            max_age=settings.internal_max_age_seconds,
            clock_skew=settings.internal_clock_skew_seconds,
        )
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            verified = self.verifier.verify(
                headers.get(IDENTITY_HEADER),
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                request_id=headers.get(REQUEST_ID_HEADER, ""),
            )
            limit = body_limit(self.settings, scope["method"], scope["path"])
            body = await _read_body(receive, limit)
            if body is None:
                return  # the client went away
        except InvalidIdentity as exc:
            await _refuse(scope, receive, send, exc)
            return
        with body.file:
            if body.digest != verified.body_sha256:
                mismatch = InvalidIdentity("the body is not the one the identity was signed for")
                await _refuse(scope, receive, send, mismatch)
                return
            scope.setdefault("state", {})["principal"] = verified.principal
            body.file.seek(0)
            done = False

            async def replay() -> Message:
                nonlocal done
                if done:
                    return await receive()
                chunk = body.file.read(CHUNK)
                done = len(chunk) < CHUNK or body.file.tell() >= body.size
                return {"type": "http.request", "body": chunk, "more_body": not done}

            await self.app(scope, replay, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: InvalidIdentity) -> None:
    response: Response = problem_response(
        Request(scope), "unauthenticated", detail=f"request did not come through the gateway: {exc}"
    )
    await response(scope, receive, send)


class _Body:
    def __init__(self, file: IO[bytes], size: int, digest: str) -> None:
        self.file = file
        self.size = size
        self.digest = digest


async def _read_body(receive: Receive, limit: int) -> _Body | None:
    """The whole body in a scratch file with its digest (None if the client disconnected).
    Past `limit` bytes reading stops: such a body was not signed by the gateway, which refuses
    larger ones."""
    file = spool()
    hasher = hashlib.sha256()
    size = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                file.close()
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise InvalidIdentity("the body is larger than the gateway signs")
            hasher.update(chunk)
            file.write(chunk)
            if not message.get("more_body", False):
                return _Body(file, size, b64_digest(hasher.digest()))
    except BaseException:
        file.close()
        raise


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
