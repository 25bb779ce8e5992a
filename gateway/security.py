"""What the gateway adds to every answer for browsers and clients: security headers, a CORS
allow-list, and the client's address (behind trusted proxies only).

Security headers go on every answer the gateway sends, its own and relayed ones:
`X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, a
`Content-Security-Policy` (nothing may load, except what the offline /docs page and the /ops
dashboard need from the gateway itself), `Cache-Control: no-store` unless the answer chose its
own, and `Strict-Transport-Security` when the request came over https.
"""

import base64
import hashlib
import ipaddress
import re
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from fastapi import FastAPI, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import docs, ops_dashboard
from services.problems import problem_response
from services.settings import Settings
from services.uploads import is_upload

Network = IPv4Network | IPv6Network

HSTS = "max-age=63072000; includeSubDomains"
# API answers are data, never a document: nothing in them may load or frame anything.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI: its script and stylesheet from /docs/static, its one inline script by hash, the
# inline styles and data: images it sets itself, and calls to this origin only ("Try it out").
DOCS_CSP = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
# The ops dashboard (/ops): its own script and stylesheet only, no inline code; SVG charts are
# drawn through the DOM; calls to this origin only; its sign-in form is handled by script.
OPS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

# What browsers may send and read across origins (when ADUAN_CORS_ORIGINS allows the origin).
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Accept-Language",
    "Idempotency-Key",
    "X-Reporter-Token",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
    "traceparent",
    "tracestate",
]
CORS_EXPOSED_HEADERS = [
    "X-Request-ID",
    "Location",
    "ETag",
    "Idempotent-Replayed",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
]


def inline_script_hashes(page: str) -> str:
    """CSP sources ('sha256-...') for every inline <script> of an HTML page."""
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )


class SecurityHeadersMiddleware:
    """`trusted_proxies`: a request they forwarded with `X-Forwarded-Proto: https` counts as
    https (for Strict-Transport-Security)."""

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[Network] = ()) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)
        self._docs_csp: str | None = None

    def is_https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        if not client or not _trusted(_address(client[0]), self.trusted_proxies):
            return False
        proto: str = Headers(scope=scope).get("x-forwarded-proto", "")
        return proto.split(",")[0].strip().lower() == "https"  # as the client-facing proxy saw it

    async def docs_csp(self) -> str:
        if self._docs_csp is None:
            page = bytes((await docs.swagger_ui()).body).decode()
            self._docs_csp = DOCS_CSP.format(hashes=inline_script_hashes(page))
        return self._docs_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = (
            await self.docs_csp()
            if path == "/docs"
            else OPS_CSP
            if path == ops_dashboard.PAGE_PATH
            else API_CSP
        )
        static = path.startswith((docs.STATIC_PREFIX + "/", ops_dashboard.STATIC_PREFIX + "/"))
        https = self.is_https(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Content-Security-Policy"] = csp
                if not static and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Bounds every request body (the gateway's own JSON routes too; the proxy also reads
    bodies bounded): a declared length over the limit is refused before reading, a streamed
    body once it grows past it, with 413 problem+json either way. File uploads
    (services/uploads.py) have `upload_limit` instead."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        if self.upload_limit is not None and is_upload(scope["method"], scope["path"]):
            limit = self.upload_limit
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            response = problem_response(
                Request(scope), "payload_too_large", detail=f"the limit is {limit} bytes"
            )
            await response(scope, receive, send)
            return
        seen = 0
        refused = False

        async def bounded() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer here (frameworks turn errors in a body read into their own 400)
                    # and let the app see the client gone; whatever it sends after is dropped.
                    refused = True
                    response = problem_response(
                        Request(scope),
                        "payload_too_large",
                        detail=f"the limit is {limit} bytes",
                    )
                    await response(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, bounded, guarded_send)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Starlette's CORSMiddleware for the configured origins; none configured, no CORS headers
    at all (browsers then refuse cross-origin calls). No cookies are used: credentials stay
    off, so a bearer token is sent only by scripts that hold it."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin.rstrip("/") for origin in settings.cors_origins],
        allow_methods=CORS_METHODS,
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=600,
    )


def _address(value: str) -> IPv4Address | IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def resolve_client_ip(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: the socket peer, or, when the peer is a trusted proxy, the
    right-most address of X-Forwarded-For that is not a trusted proxy (everything left of it
    was written by the client and proves nothing)."""
    if not _trusted(_address(peer), trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        client = str(address) if address is not None else hop[:64]
        if not _trusted(address, trusted):
            break
    return client


def client_ip(request: Request) -> str:
    """The client's address at the gateway (ADUAN_TRUSTED_PROXIES decides whether
    X-Forwarded-For counts); worked out once per request."""
    known: str | None = getattr(request.state, "client_ip", None)
    if known is not None:
        return known
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client is not None else "unknown"
    ip = resolve_client_ip(
        peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies
    )
    request.state.client_ip = ip
    return ip
