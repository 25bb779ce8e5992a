"""Forward public requests to the owning service, with the caller's identity signed in a header."""

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO

import aiohttp
import yarl
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect

from gateway.auth import Unauthenticated
from gateway.ratelimit import limit_proxied
from gateway.security import client_ip
from gateway.state import GatewayState, StateDep
from gateway.upstreams import upstream_for
from services.identity import IDENTITY_HEADER
from services.logging import get_logger
from services.middleware import REQUEST_ID_HEADER
from services.principal import Principal, Role
from services.problems import ProblemError, problem_response
from services.tracing import TRACEPARENT_HEADER, TraceParent
from services.uploads import CHUNK, body_limit, is_download, is_upload, spool

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# A whitelist: anything else the caller sends (Authorization, X-Aduan-Identity, cookies) stays here.
FORWARDED_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "accept-language",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-reporter-token",  # an anonymous reporter's key to their complaint (intake checks it)
)
# Hop-by-hop (RFC 9110 §7.6.1), recomputed by us or our server (length, date, server), or set
# by our own middleware. The body is relayed as sent, so content-encoding stays.
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "date",
        "server",
        REQUEST_ID_HEADER.lower(),
    }
)

UPSTREAM_REQUESTS = Counter(
    "aduan_gateway_upstream_requests_total",
    "Requests the gateway forwarded, by service and outcome (status code, timeout, unreachable)",
    ["upstream", "outcome"],
)
UPSTREAM_LATENCY = Histogram(
    "aduan_gateway_upstream_duration_seconds", "Time the services took to answer", ["upstream"]
)
RawHeaders = tuple[tuple[bytes, bytes], ...]
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
log = get_logger(__name__)
router = APIRouter(include_in_schema=False)  # the services document these paths themselves


def client_id(request: Request, state: GatewayState) -> str:
    """An anonymous caller's opaque id (for its idempotency scope): a keyed hash of its address,
    so the services and their tables never hold the address itself."""
    key = state.settings.internal_signing_key
    secret = key.get_secret_value().encode() if key is not None else b""
    digest = hmac.new(b"aduan-client:" + secret, client_ip(request).encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


async def authenticate(request: Request, state: GatewayState) -> Principal:
    try:
        principal = await state.authenticator.authenticate(request.headers.getlist("authorization"))
        if principal.role is Role.anonymous:
            principal = principal.model_copy(update={"client": client_id(request, state)})
        return principal
    except Unauthenticated as exc:
        raise ProblemError(
            "unauthenticated",
            str(exc),
            headers={"WWW-Authenticate": 'Bearer realm="aduan", error="invalid_token"'},
        ) from exc


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 past `limit` bytes whatever Content-Length claimed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ProblemError("payload_too_large", f"the limit is {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ProblemError("payload_too_large", f"the limit is {limit} bytes")
    return bytes(body)


@dataclass
class SpooledBody:
    """A file upload's body: in a scratch file (memory while small, disk beyond), hashed as it
    arrived, relayed in chunks."""

    file: IO[bytes]
    size: int
    sha256: bytes

    async def chunks(self) -> AsyncIterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(CHUNK):
            yield chunk


async def spool_body(request: Request, limit: int) -> SpooledBody:
    """As read_body, without holding the body in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ProblemError("payload_too_large", f"the limit is {limit} bytes")
    file = spool()
    hasher = hashlib.sha256()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ProblemError("payload_too_large", f"the limit is {limit} bytes")
            hasher.update(chunk)
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    return SpooledBody(file, size, hasher.digest())


Body = bytes | SpooledBody


def upstream_headers(
    request: Request, state: GatewayState, principal: Principal, body: Body = b""
) -> dict[str, str]:
    headers = {
        name: ", ".join(values)
        for name in FORWARDED_REQUEST_HEADERS
        if (values := request.headers.getlist(name))
    }
    request_id: str = request.state.request_id
    headers[REQUEST_ID_HEADER] = request_id
    # Good for this request only: method, path, query, request id and body are signed with it.
    headers[IDENTITY_HEADER] = state.identity_header(
        principal,
        method=request.method,
        path=request.scope["path"],
        query=request.scope["query_string"].decode("latin-1"),
        request_id=request_id,
        body=body if isinstance(body, bytes) else b"",
        body_sha256=body.sha256 if isinstance(body, SpooledBody) else None,
    )
    if isinstance(body, SpooledBody):
        headers["content-length"] = str(body.size)  # sent as is, not chunked
    # The caller's trace (or the one the gateway started), with the gateway's span as parent.
    trace: TraceParent = request.state.trace
    headers[TRACEPARENT_HEADER] = trace.header()
    # The client address for audit (ADUAN_TRUSTED_PROXIES decides whether the caller's own
    # X-Forwarded-For counts). No X-Forwarded-Host: the caller picks Host, so public URLs
    # belong in configuration instead.
    headers["x-forwarded-for"] = client_ip(request)
    headers["x-forwarded-proto"] = request.url.scheme
    return headers


def relayed_headers(raw_headers: RawHeaders, keep: frozenset[str] = frozenset()) -> RawHeaders:
    """The service's answer headers the gateway passes on (`keep`: despite the drop list)."""
    named_by_connection = {
        token.strip().lower()
        for name, value in raw_headers
        if name.lower() == b"connection"
        for token in value.decode("latin-1").split(",")
    }
    dropped = (DROPPED_RESPONSE_HEADERS - keep) | named_by_connection
    return tuple(
        (name.lower(), value)
        for name, value in raw_headers
        if name.decode("latin-1").lower() not in dropped
    )


def relay_response(status: int, raw_headers: RawHeaders, body: bytes) -> Response:
    response = Response(content=body, status_code=status)
    response.raw_headers.extend(relayed_headers(raw_headers))
    return response


def _upstream_failed(request: Request, service: str, outcome: str, exc: Exception) -> Response:
    UPSTREAM_REQUESTS.labels(service, outcome).inc()
    log.warning("%s %s on %s %s: %r", service, outcome, request.method, request.url.path, exc)
    if outcome == "timeout":
        detail = f"the {service} service did not answer in time"
        return problem_response(request, "gateway_timeout", detail=detail)
    detail = f"the {service} service " + (
        "is unreachable" if outcome == "unreachable" else "failed"
    )
    return problem_response(request, "bad_gateway", detail=detail)


async def _send(
    session: aiohttp.ClientSession,
    method: str,
    url: yarl.URL,
    headers: dict[str, str],
    body: Body,
) -> tuple[int, RawHeaders, bytes]:
    data = body.chunks() if isinstance(body, SpooledBody) else body or None
    async with session.request(
        method, url, headers=headers, data=data, allow_redirects=False
    ) as upstream:
        return upstream.status, upstream.raw_headers, await upstream.read()


def upstream_url(request: Request) -> yarl.URL:
    # raw_path keeps the caller's percent-encoding; some servers used to append the query to it.
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    return yarl.URL.build(
        path=raw_path.split(b"?", 1)[0].decode("latin-1"),
        query_string=request.scope["query_string"].decode("latin-1"),
        encoded=True,
    )


async def forward_streamed(
    request: Request, state: GatewayState, service: str, principal: Principal, body: bytes
) -> Response:
    """A file download (GET, so a repeat is harmless): relayed as the service streams it, never
    held whole here. No total timeout (a phone may take minutes for 10 MB), only between reads."""
    url = upstream_url(request)
    headers = upstream_headers(request, state, principal, body)
    session = state.proxies[service]
    wait = state.settings.proxy_timeout_seconds
    timeout = aiohttp.ClientTimeout(total=None, connect=min(5.0, wait), sock_read=wait)
    started = time.perf_counter()

    async def send() -> aiohttp.ClientResponse:
        return await session.request(
            request.method,
            url,
            headers=headers,
            data=body or None,
            allow_redirects=False,
            timeout=timeout,
        )

    try:
        try:
            upstream = await send()
        except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError):
            upstream = await send()
    except aiohttp.ClientConnectorError as exc:
        return _upstream_failed(request, service, "unreachable", exc)
    except TimeoutError as exc:
        return _upstream_failed(request, service, "timeout", exc)
    except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
        return _upstream_failed(request, service, "failed", exc)
    UPSTREAM_LATENCY.labels(service).observe(time.perf_counter() - started)
    UPSTREAM_REQUESTS.labels(service, str(upstream.status)).inc()
    if upstream.status != 200:
        try:
            content = await upstream.read()
        finally:
            upstream.release()
        return relay_response(upstream.status, upstream.raw_headers, content)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.content.iter_chunked(CHUNK):
                yield chunk
        finally:
            upstream.release()

    response = StreamingResponse(chunks(), status_code=200)
    # Content-Length passes: a client can tell a download cut short from a whole one.
    keep = frozenset({"content-length"})
    response.raw_headers.extend(relayed_headers(upstream.raw_headers, keep))
    return response


async def forward(
    request: Request, state: GatewayState, service: str, principal: Principal, body: Body
) -> Response:
    url = upstream_url(request)
    headers = upstream_headers(request, state, principal, body)
    session = state.proxies[service]
    started = time.perf_counter()
    try:
        try:
            status, raw_headers, content = await _send(session, request.method, url, headers, body)
        except aiohttp.ClientConnectorError:
            # Nothing was sent on a failed connect, so one more try is safe even for a POST
            # (the service restarting).
            status, raw_headers, content = await _send(session, request.method, url, headers, body)
        except aiohttp.ServerDisconnectedError:
            # A pooled connection the service closed as we sent: safe to repeat only where a
            # repeat changes nothing.
            if request.method not in IDEMPOTENT_METHODS:
                raise
            status, raw_headers, content = await _send(session, request.method, url, headers, body)
    except aiohttp.ClientConnectorError as exc:
        return _upstream_failed(request, service, "unreachable", exc)
    except TimeoutError as exc:  # aiohttp's timeouts subclass asyncio's (= builtin) one
        return _upstream_failed(request, service, "timeout", exc)
    except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
        return _upstream_failed(request, service, "failed", exc)
    UPSTREAM_LATENCY.labels(service).observe(time.perf_counter() - started)
    UPSTREAM_REQUESTS.labels(service, str(status)).inc()
    return relay_response(status, raw_headers, content)


# Catch-alls (no slash after the prefix, so nothing is redirected); upstream_for decides.
# /open311 has its own (gateway/open311.py): its key comes as an argument, its errors as a list.
@router.api_route("/api/v1{rest:path}", methods=METHODS)
async def proxy(request: Request, state: StateDep) -> Response:
    service = upstream_for(request.url.path)
    if service is None:
        raise ProblemError("not_found", "no service serves this path")
    principal = await authenticate(request, state)
    request.state.principal = principal  # for the access line
    await limit_proxied(request, principal)  # 429 over a rate limit
    limit = body_limit(state.settings, request.method, request.url.path)
    try:
        # Read whole (bounded) so an oversized body is refused before any service sees it;
        # a file upload's is spooled to disk rather than held in memory.
        if is_upload(request.method, request.url.path):
            spooled = await spool_body(request, limit)
            try:
                return await forward(request, state, service, principal, spooled)
            finally:
                spooled.file.close()
        body = await read_body(request, limit)
    except ClientDisconnect:
        # nginx's "client closed request": nobody reads it, but logs and metrics stay honest.
        return Response(status_code=499)
    if is_download(request.method, request.url.path):
        return await forward_streamed(request, state, service, principal, body)
    return await forward(request, state, service, principal, body)
