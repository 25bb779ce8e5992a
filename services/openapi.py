"""Every problem answer an operation can give, in the app's OpenAPI document.

A route documents the answers it decides itself (404 for an object it cannot show, 409 for a
conflict). The answers of the machinery around it follow from the route and are added here, so
no route has to remember them:

- 400 when it takes a body (not UTF-8, not well-formed);
- 401 when it needs a caller who said who they are: a permission anonymous callers lack, the
  caller's credentials (a gateway route that reads the principal), or the internal identity
  (every API route of a service);
- 403 when its permission is not granted to every signed-in role;
- 422 when it takes parameters or a body;
- 503 for every API route (its database or Redis may be unavailable);
- whatever a dependency of the route declares in its `problem_statuses` (a rate limit: 429).

Every 4xx and 5xx answer is documented as `application/problem+json` with the `Problem` schema
(FastAPI would say `application/json`, and its own validation-error schema for 422).
"""

import inspect
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic.json_schema import models_json_schema

from services.deps import get_principal
from services.policy import GRANTS, Permission, Requires
from services.principal import Role
from services.problems import PROBLEM_MEDIA_TYPE, Problem

Document = dict[str, Any]

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"
# FastAPI's own validation-error schemas: unused once every 422 is a problem.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
FASTAPI_VALIDATION_DESCRIPTION = "Validation Error"
SIGNED_IN = frozenset(Role) - {Role.anonymous, Role.system}
DESCRIPTIONS = {
    400: "Malformed request: the body is not valid UTF-8 (`invalid_encoding`) or not "
    "well-formed (`bad_request`)",
    401: "Authentication required, or the credentials were refused (`unauthenticated`)",
    403: "The caller's role may not do this (`forbidden`)",
    422: "The request is not valid (`validation_failed`); `errors` points at each field",
    429: "Too many requests (`rate_limited`); retry after `Retry-After` seconds",
    503: "A dependency of the service (database, Redis) is unavailable; retry after "
    "`Retry-After` seconds (`service_unavailable`)",
}
_REQUIRES_QUALNAME = Requires(Permission.complaint_read).dependency.__qualname__
# Paths that answer errors in a format of their own, documented by their routes: Open311
# GeoReport v2's list of {code, description} (intake/open311/errors.py).
OWN_ERROR_FORMAT_PREFIXES = ("/open311/",)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _permission(call: Callable[..., Any] | None) -> Permission | None:
    """The permission a `services.policy.Requires` dependency checks, else None."""
    if call is None or getattr(call, "__qualname__", None) != _REQUIRES_QUALNAME:
        return None
    permission = inspect.getclosurevars(call).nonlocals.get("permission")
    return permission if isinstance(permission, Permission) else None


def implied_statuses(route: APIRoute | RouteContext, *, identity_required: bool) -> set[int]:
    """The problem statuses `route` can answer whatever its own code decides (`route`: an
    APIRoute, or FastAPI's view of one with its routers' dependencies)."""
    api = (route.path_format or "").startswith("/api/")
    dependencies = list(_dependencies(route.dependant))
    permissions = {p for d in dependencies if (p := _permission(d.call)) is not None}
    statuses: set[int] = set()
    if route.body_field is not None:
        statuses |= {400, 422}
    if any(
        (route.dependant.path_params, route.dependant.query_params, route.dependant.header_params)
    ) or any(d.path_params or d.query_params or d.header_params for d in dependencies):
        statuses.add(422)
    reads_principal = any(d.call is get_principal for d in dependencies)
    if (identity_required and api) or reads_principal:
        statuses.add(401)
    for permission in permissions:
        if Role.anonymous not in GRANTS[permission]:
            statuses.add(401)
        if not GRANTS[permission] >= SIGNED_IN:
            statuses.add(403)
    if api:
        statuses.add(503)
    for dependency in dependencies:
        statuses |= set(getattr(dependency.call, "problem_statuses", ()))
    return statuses


def _as_problem(response: Document) -> Document:
    """A documented error answer as application/problem+json (its examples kept)."""
    if "$ref" in response:
        return response
    content = response.get("content", {})
    media = dict(content.get(PROBLEM_MEDIA_TYPE) or content.get("application/json") or {})
    media["schema"] = {"$ref": PROBLEM_SCHEMA_REF}
    if response.get("description") == FASTAPI_VALIDATION_DESCRIPTION:
        response = {**response, "description": DESCRIPTIONS[422]}
    return {**response, "content": {PROBLEM_MEDIA_TYPE: media}}


def _referenced(node: Any, target: str) -> bool:
    if isinstance(node, dict):
        return any(_referenced(value, target) for value in node.values())
    if isinstance(node, list):
        return any(_referenced(value, target) for value in node)
    return bool(node == target)


def document_problems(document: Document, statuses: dict[tuple[str, str], set[int]]) -> None:
    """Add the implied `statuses` ((path, method) -> statuses) to `document` and make every
    error answer a problem."""
    paths: Document = document.get("paths", {})
    for (path, method), implied in statuses.items():
        operation = paths.get(path, {}).get(method)
        if operation is None or path.startswith(OWN_ERROR_FORMAT_PREFIXES):
            continue
        responses = operation.setdefault("responses", {})
        for status in sorted(implied):
            description = DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
            responses.setdefault(str(status), {"description": description})
    for path, item in paths.items():
        if path.startswith(OWN_ERROR_FORMAT_PREFIXES):
            # FastAPI's own 422 never happens there: those routes answer 400 in their format.
            for operation in item.values():
                responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
                if responses.get("422", {}).get("description") == FASTAPI_VALIDATION_DESCRIPTION:
                    del responses["422"]
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"] = {
                status: _as_problem(answer) if status[:1] in "45" else answer
                for status, answer in operation["responses"].items()
            }
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _, problem = models_json_schema(
        [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
    )
    for name, definition in problem["$defs"].items():
        schemas.setdefault(name, definition)
    for name in FASTAPI_VALIDATION_SCHEMAS:
        if name in schemas and not _referenced(document, f"#/components/schemas/{name}"):
            del schemas[name]


def install_problem_documentation(app: FastAPI, *, identity_required: bool) -> None:
    """Make `app.openapi()` document every problem answer (see the module's docstring).

    `identity_required`: the app refuses API calls without the gateway's identity header
    (the services; not the gateway, where identity starts)."""
    generate = app.openapi

    completed: list[Document] = []  # the document FastAPI cached, once completed

    def openapi() -> Document:
        document = generate()
        if not any(document is done for done in completed):
            statuses = {
                (route.path_format or "", method.lower()): implied_statuses(
                    route, identity_required=identity_required
                )
                for route in iter_route_contexts(app.routes)
                if isinstance(route.original_route, APIRoute) and route.include_in_schema
                for method in route.methods or ()
            }
            document_problems(document, statuses)
            completed[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
