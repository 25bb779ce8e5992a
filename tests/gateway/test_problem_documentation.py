"""Every problem answer an operation can give is in the merged document, as
application/problem+json: the ones its route decides and the ones of the machinery around it
(services/openapi.py, the gateway's merge). The document is merged from the real services'."""

from typing import Any

import pytest

from gateway.main import create_gateway_app
from gateway.openapi import merge_documents
from gateway.security import CORS_REQUEST_HEADERS
from gateway.upstreams import upstream_for
from intake.main import create_app as intake_app
from notifications.main import create_app as notifications_app
from routing.main import create_app as routing_app
from services.openapi import OWN_ERROR_FORMAT_PREFIXES
from tests.gateway.conftest import make_settings

OPERATIONS = ("get", "put", "post", "delete", "patch")
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    settings = make_settings()
    service = settings.model_copy(update={"internal_signing_key": None})
    upstream = {
        "intake": intake_app(service).openapi(),
        "routing": routing_app(service).openapi(),
        "notifications": notifications_app(service).openapi(),
    }
    return merge_documents(create_gateway_app(settings).openapi(), upstream)


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    ]


def test_every_error_answer_is_documented_as_a_problem(spec: dict[str, Any]) -> None:
    not_problems = [
        f"{method} {path} {status}: {answer.get('content')}"
        for method, path, operation in _operations(spec)
        if not path.startswith(OWN_ERROR_FORMAT_PREFIXES)  # Open311: below
        for status, ref in operation["responses"].items()
        if status[0] in "45"
        and (answer := _resolve(spec, ref))
        and (
            list(answer.get("content", {})) != ["application/problem+json"]
            or answer["content"]["application/problem+json"].get("schema") != PROBLEM
        )
    ]

    assert not_problems == []
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_open311_errors_are_documented_as_the_geo_report_error_list(spec: dict[str, Any]) -> None:
    answers = {
        f"{method} {path} {status}": _resolve(spec, ref)
        for method, path, operation in _operations(spec)
        if path.startswith("/open311/")
        for status, ref in operation["responses"].items()
        if status[0] in "45"
    }

    assert "POST /open311/v2/requests.json 400" in answers
    for name, answer in answers.items():
        schema = _resolve(spec, answer["content"]["application/json"]["schema"])
        assert schema["type"] == "array", name
        item = _resolve(spec, schema["items"])
        assert set(item["properties"]) == {"code", "description"}, name


def test_every_api_operation_documents_what_the_machinery_answers(spec: dict[str, Any]) -> None:
    missing = [
        f"{method} {path}: {status}"
        for method, path, operation in _operations(spec)
        if path.startswith("/api/")
        for status in (
            # A rate limit, an unavailable database; a malformed or invalid body; credentials
            # the gateway refuses before it proxies.
            ["429", "503"]
            + (["400", "422"] if "requestBody" in operation else [])
            + (["401"] if upstream_for(path) is not None else [])
        )
        if status not in operation["responses"]
    ]

    assert missing == []


def test_a_permission_some_roles_lack_documents_401_and_403(spec: dict[str, Any]) -> None:
    paths = spec["paths"]

    # A citizen's own complaints (citizens only), filing one (not staff), webhooks (admins).
    for path, method in (
        ("/api/v1/me/complaints", "get"),
        ("/api/v1/complaints", "post"),
        ("/api/v1/webhooks/endpoints", "get"),
        ("/api/v1/api-keys", "get"),
    ):
        assert {"401", "403"} <= set(paths[path][method]["responses"]), (method, path)
    # Everyone may read the agency directory.
    assert "403" not in paths["/api/v1/agencies"]["get"]["responses"]


def test_a_browser_may_send_every_request_header_the_api_documents(spec: dict[str, Any]) -> None:
    # A web client on an allowed origin is refused at the preflight for any header left out
    # of CORS_REQUEST_HEADERS (X-Reporter-Token was).
    allowed = {h.lower() for h in CORS_REQUEST_HEADERS}
    documented = {
        parameter["name"].lower()
        for _, _, operation in _operations(spec)
        for parameter in (_resolve(spec, p) for p in operation.get("parameters", []))
        if parameter["in"] == "header"
    }
    assert "x-reporter-token" in documented
    assert documented <= allowed, sorted(documented - allowed)
