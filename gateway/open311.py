"""Open311 GeoReport v2 at the edge (/open311/...).

GeoReport clients send their key as an `api_key` argument (query string or form body), not as a
header. The gateway takes it out of the request, authenticates it with the same authenticator
chain as `Authorization: Bearer` (an `adn_` API key, an access token or the bootstrap key), and
forwards the request without it: like the Authorization header, a credential never reaches the
services. Without `api_key` the Authorization header counts as anywhere else, and without
either the caller is anonymous. A wrong key is GeoReport's 403, and every error the gateway
answers itself on these paths (bad key, body too large, rate limit, upstream down) is
GeoReport's list of `{code, description}` instead of a problem.
"""

from urllib.parse import unquote_to_bytes

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from gateway.auth import Unauthenticated
from gateway.proxy import METHODS, authenticate, forward, read_body
from gateway.ratelimit import limit_proxied
from gateway.state import GatewayState, StateDep
from gateway.upstreams import upstream_for
from services.principal import Principal
from services.problems import CATALOGUE, PROBLEM_MEDIA_TYPE, ProblemError

API_KEY = b"api_key"
FORM = "application/x-www-form-urlencoded"
router = APIRouter(include_in_schema=False)  # intake documents these paths


def take_api_keys(encoded: bytes) -> tuple[bytes, list[str]]:
    """`encoded` (a query string or a form body) without its `api_key` fields, byte for byte
    otherwise, and the values of those fields."""
    kept: list[bytes] = []
    keys: list[str] = []
    for field in encoded.split(b"&"):
        name, _, value = field.partition(b"=")
        if unquote_to_bytes(name.replace(b"+", b" ")) == API_KEY:
            keys.append(unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8", "replace"))
        else:
            kept.append(field)
    return b"&".join(kept), keys


def error_list(status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        [{"code": status, "description": description}], status_code=status, headers=headers
    )


def from_problem(exc: ProblemError) -> Response:
    if exc.code == "unauthenticated":
        # GeoReport has no 401: an invalid api_key (or Authorization) is a 403.
        return error_list(403, f"api_key: {exc.detail or 'invalid credentials'}")
    status, title, _ = CATALOGUE[exc.code]
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "www-authenticate"}
    return error_list(status, exc.detail or title, headers or None)


def relist(response: Response) -> Response:
    """An upstream failure the proxy answered as a problem (502, 504), as GeoReport's list."""
    if response.headers.get("content-type", "").split(";")[0] != PROBLEM_MEDIA_TYPE:
        return response
    problem = orjson.loads(bytes(response.body))
    return error_list(response.status_code, problem.get("detail") or problem.get("title", ""))


async def _principal(request: Request, state: GatewayState, keys: list[str]) -> Principal:
    if not keys:
        return await authenticate(request, state)
    if len(keys) > 1:
        raise ProblemError("unauthenticated", "api_key sent more than once")
    if request.headers.getlist("authorization"):
        raise ProblemError("unauthenticated", "send either api_key or Authorization, not both")
    try:
        return await state.authenticator.authenticate_api_key(keys[0])
    except Unauthenticated as exc:
        raise ProblemError("unauthenticated", str(exc)) from exc


@router.api_route("/open311{rest:path}", methods=METHODS)
async def open311_proxy(request: Request, state: StateDep) -> Response:
    try:
        service = upstream_for(request.url.path)
        if service is None:
            raise ProblemError("not_found", "no service serves this path")
        try:
            # Read first: the key may be in the (bounded) body.
            body = await read_body(request, state.settings.max_body_bytes)
        except ClientDisconnect:
            return Response(status_code=499)
        query, keys = take_api_keys(request.scope["query_string"])
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == FORM:
            body, form_keys = take_api_keys(body)
            keys += form_keys
        principal = await _principal(request, state, keys)
        request.state.principal = principal  # for the access line
        await limit_proxied(request, principal)  # 429 over a rate limit
        request.scope["query_string"] = query  # what is forwarded and signed
        return relist(await forward(request, state, service, principal, body))
    except ProblemError as exc:
        return from_problem(exc)
