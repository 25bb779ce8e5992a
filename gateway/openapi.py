"""One OpenAPI document for the whole platform: the gateway's own operations plus each service's.

Every service documents itself; the gateway fetches those documents (as a signed system caller),
keeps only the paths it actually routes to that service, and namespaces clashing component names.
"""

import asyncio
import copy
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic.json_schema import models_json_schema

from gateway.upstreams import upstream_for
from services.identity import IDENTITY_HEADER
from services.logging import get_logger
from services.openapi import OWN_ERROR_FORMAT_PREFIXES
from services.principal import system
from services.problems import PROBLEM_MEDIA_TYPE, Problem

Document = dict[str, Any]

SYSTEM_GATEWAY = system("gateway")
TITLE = "Aduan API"
DESCRIPTION = """\
Public API of Aduan, the national public-service complaint platform: citizens file complaints
(pengaduan), aspirations (aspirasi) and information requests (permintaan informasi); the platform
verifies them, routes them to the responsible agency, watches the deadlines and notifies everyone.

**Authentication.** Send `Authorization: Bearer <credential>`: an access token of a citizen or
staff account (`POST /api/v1/auth/token`), a system's API key (`adn_…`) or the bootstrap admin
key. Without the header you act anonymously (enough to file and track a complaint). Unknown,
expired or revoked credentials are refused with 401, never downgraded.

**Errors** are RFC 9457 `application/problem+json`, titled in Indonesian or English by
`Accept-Language`. Every response carries `X-Request-ID` (yours, if you sent one of ≤64 characters).
"""
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT access token or adn_ API key",
    "description": "An access token from POST /api/v1/auth/token, an API key (adn_…), or the "
    "bootstrap admin key.",
}
# Errors the gateway itself answers on any proxied operation: status -> (name, description).
GATEWAY_RESPONSES = {
    "401": ("GatewayUnauthenticated", "The Authorization header holds no known credentials"),
    "413": ("GatewayPayloadTooLarge", "The body is larger than the gateway accepts"),
    "429": (
        "GatewayRateLimited",
        "Too many requests from this caller or address; retry after `Retry-After` seconds",
    ),
    "502": ("GatewayBadGateway", "The service behind the gateway is unreachable"),
    "504": ("GatewayTimeout", "The service behind the gateway did not answer in time"),
}
FETCH_TIMEOUT_SECONDS = 5.0
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
log = get_logger(__name__)


def _rewrite(node: Any, renames: Mapping[str, str]) -> Any:
    """Copy `node`, replacing every string that is a renamed `#/components/...` reference."""
    if isinstance(node, dict):
        return {key: _rewrite(value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite(value, renames) for value in node]
    if isinstance(node, str):
        return renames.get(node, node)
    return node


def _namespace_conflicts(service: str, doc: Document, existing: Document) -> Document:
    """Rename this service's components that clash with different ones already merged.

    Repeats until stable: renaming a schema changes the schemas that reference it, which may
    then differ from a same-named one of another service too.
    """
    renames: dict[str, str] = {}
    while True:
        current: Document = _rewrite(doc, renames)
        fresh = {
            f"#/components/{section}/{name}": f"#/components/{section}/{service}.{name}"
            for section, items in current.get("components", {}).items()
            for name, value in items.items()
            if f"#/components/{section}/{name}" not in renames
            and existing.get(section, {}).get(name, value) != value
        }
        if not fresh:
            break
        renames.update(fresh)
    current["components"] = {
        section: {
            (f"{service}.{name}" if f"#/components/{section}/{name}" in renames else name): value
            for name, value in items.items()
        }
        for section, items in current.get("components", {}).items()
    }
    return current


def _document_gateway_errors(components: dict[str, Any], paths: dict[str, Any]) -> None:
    """Add the gateway's own error answers to every proxied operation that lacks them."""
    # The services' Problem schema (same model) wins; ours only fills in when none sent one.
    _, schema = models_json_schema(
        [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
    )
    for name, definition in schema["$defs"].items():
        components.setdefault("schemas", {}).setdefault(name, definition)
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for name, description in GATEWAY_RESPONSES.values():
        components.setdefault("responses", {})[name] = {
            "description": description,
            "content": problem,
        }
    for path, item in paths.items():
        if upstream_for(path) is None or path.startswith(OWN_ERROR_FORMAT_PREFIXES):
            continue  # the gateway's own operations; Open311 documents its own errors
        for method, op in item.items():
            if method not in _OPERATIONS:
                continue
            for status, (name, _) in GATEWAY_RESPONSES.items():
                if status == "413" and method not in {"post", "put", "patch"}:
                    continue
                op.setdefault("responses", {}).setdefault(
                    status, {"$ref": f"#/components/responses/{name}"}
                )


def merge_documents(own: Document, upstream: Mapping[str, Document | None]) -> Document:
    """Merge the gateway's document with each service's (None = that service is unreachable)."""
    merged = copy.deepcopy(own)
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, Any] = merged.setdefault("components", {})
    tags = {tag["name"]: tag for tag in merged.get("tags", [])}
    operation_ids = {
        op["operationId"]
        for item in paths.values()
        for method, op in item.items()
        if method in _OPERATIONS and "operationId" in op
    }
    unavailable: list[str] = []
    for service, fetched in upstream.items():
        if fetched is None:
            unavailable.append(service)
            continue
        doc = _namespace_conflicts(service, fetched, components)
        for section, items in doc["components"].items():
            components.setdefault(section, {}).update(items)
        for path, item in doc.get("paths", {}).items():
            # Only what the gateway routes to this service is reachable; this also drops the
            # services' own /healthz, /readyz and /metrics.
            if upstream_for(path) != service or path in paths:
                continue
            for method, op in item.items():
                if method in _OPERATIONS and op.get("operationId") in operation_ids:
                    op["operationId"] = f"{service}.{op['operationId']}"
                if method in _OPERATIONS and "operationId" in op:
                    operation_ids.add(op["operationId"])
            paths[path] = item
        for tag in doc.get("tags", []):
            tags.setdefault(tag["name"], tag)

    _document_gateway_errors(components, paths)
    components.setdefault("securitySchemes", {})["bearerAuth"] = BEARER_SCHEME
    merged["security"] = [{}, {"bearerAuth": []}]  # {} first: anonymous calls are allowed
    if tags:
        merged["tags"] = list(tags.values())
    description = DESCRIPTION
    if unavailable:
        description += (
            f"\n\n**Partial document:** unreachable right now: {', '.join(unavailable)}. "
            "Their operations are missing until they answer again."
        )
    merged["info"] = {"title": TITLE, "version": own["info"]["version"], "description": description}
    merged["x-aduan-unavailable"] = unavailable
    return merged


async def fetch_document(client: httpx.AsyncClient, identity: str) -> Document | None:
    try:
        response = await client.get(
            "/openapi.json", headers={IDENTITY_HEADER: identity}, timeout=FETCH_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        log.warning("openapi of %s unreachable: %r", client.base_url, exc)
        return None
    if response.status_code != 200:
        log.warning("openapi of %s answered %s", client.base_url, response.status_code)
        return None
    try:
        doc = response.json()
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class OpenAPICache:
    """The merged document, rebuilt at most every `ttl` seconds (`partial_ttl` when partial)."""

    def __init__(
        self,
        own: Callable[[], Document],
        clients: Mapping[str, httpx.AsyncClient],
        identity: Callable[[], str],
        *,
        ttl: float = 30.0,
        partial_ttl: float = 5.0,
    ) -> None:
        self._own = own
        self._clients = clients
        self._identity = identity
        self._ttl = ttl
        self._partial_ttl = partial_ttl
        self._document: Document | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()  # one rebuild at a time; waiters get its result

    async def document(self) -> Document:
        async with self._lock:
            if self._document is None or time.monotonic() >= self._expires:
                identity = self._identity()
                fetched = await asyncio.gather(
                    *(fetch_document(client, identity) for client in self._clients.values())
                )
                document = merge_documents(
                    self._own(), dict(zip(self._clients, fetched, strict=True))
                )
                ttl = self._partial_ttl if document["x-aduan-unavailable"] else self._ttl
                self._document, self._expires = document, time.monotonic() + ttl
            return self._document
