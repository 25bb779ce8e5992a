"""Problem codes are one enum with one catalogue; every code raised anywhere is in it; a body
that is not UTF-8 gets a 400 of its own, and a JSON syntax error points at the member it breaks
in (or at the body)."""

import ast
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from intake.main import create_app
from services.problems import (
    CATALOGUE,
    Problem,
    ProblemCode,
    ProblemCodeName,
    install_problem_handlers,
    json_error_pointer,
)
from services.runtime import Runtime
from tests.conftest import complaint_payload, service_client

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "gateway", "intake", "routing", "notifications")
# Callable -> position of its code argument.
RAISERS = {"ProblemError": 0, "problem_response": 1}


def _code_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ProblemCode"
    ):
        return node.attr
    return None


def raised_codes() -> dict[str, list[str]]:
    """Every code named where a problem is raised or answered: `ProblemError("x")`,
    `problem_response(request, "x")` (or `code="x"`), and every `ProblemCode.x` -> where."""
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            where = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text())):
                codes: list[str | None] = []
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    position = RAISERS.get(name or "")
                    if position is not None:
                        if len(node.args) > position:
                            codes.append(_code_of(node.args[position]))
                        codes += [_code_of(k.value) for k in node.keywords if k.arg == "code"]
                elif isinstance(node, ast.Attribute):
                    codes.append(_code_of(node))
                for code in codes:
                    if code is not None:
                        found.setdefault(code, []).append(f"{where}:{node.lineno}")
    return found


def test_the_enum_the_literal_names_and_the_catalogue_are_the_same() -> None:
    assert set(get_args(ProblemCodeName)) == {code.value for code in ProblemCode}
    assert set(CATALOGUE) == set(ProblemCode)


def test_every_raised_code_is_in_the_catalogue() -> None:
    raised = raised_codes()
    assert len(raised) > 5, "the scan found (almost) no raised codes"
    known = {code.value for code in ProblemCode}
    unknown = {code: where for code, where in raised.items() if code not in known}
    assert unknown == {}


def test_every_catalogue_entry_has_a_client_error_or_server_error_status_and_two_titles() -> None:
    for code, (status, english, indonesian) in CATALOGUE.items():
        assert 400 <= status < 600, code
        assert english and indonesian and english != indonesian, code


def test_the_problem_schema_lists_every_code() -> None:
    schema = Problem.model_json_schema()
    assert set(schema["$defs"]["ProblemCode"]["enum"]) == {code.value for code in ProblemCode}


@pytest.fixture
async def intake(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


async def test_a_body_that_is_not_utf8_answers_invalid_encoding(
    intake: httpx.AsyncClient,
) -> None:
    response = await intake.post(
        "/api/v1/complaints",
        content=b'{"title": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_encoding"
    assert problem["type"].endswith("/invalid_encoding")
    assert problem["title"] == "Isi permintaan bukan UTF-8 yang valid"
    assert "UTF-8" in problem["detail"]


async def test_the_encoding_problem_speaks_english_when_asked(intake: httpx.AsyncClient) -> None:
    response = await intake.post(
        "/api/v1/complaints",
        content=b"\xff",
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )

    assert response.status_code == 400
    assert response.json()["title"] == "Request body is not valid UTF-8"


async def test_json_cut_off_inside_a_value_points_at_that_field(
    intake: httpx.AsyncClient,
) -> None:
    response = await intake.post(
        "/api/v1/complaints",
        content=b'{"report_type": "pengaduan", "title": "Jal',
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error == {"pointer": "/title", "code": "json_invalid", "message": "JSON decode error"}


async def test_a_syntax_error_in_a_nested_member_points_at_it(intake: httpx.AsyncClient) -> None:
    body = json.dumps(complaint_payload())[:-1].replace('"phone": "+6281234567890"', '"phone": ')

    response = await intake.post(
        "/api/v1/complaints", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["pointer"] == "/reporter/phone"
    assert error["message"] == "JSON tidak valid"


async def test_a_syntax_error_between_members_points_at_the_body(
    intake: httpx.AsyncClient,
) -> None:
    response = await intake.post(
        "/api/v1/complaints",
        content=b'{"report_type": "pengaduan" "title": "Jalan"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["pointer"] == "/"
    assert error["code"] == "json_invalid"


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"report_type": "pengaduan", "title": "Jal', "/title"),
        ('{"report_type": "pengaduan", ', "/"),
        ('{"reporter": {"name": "x", "email": }}', "/reporter/email"),
        ('{"title": "x" "description": "y"}', "/"),
        ('{"latitude": 1.}', "/latitude"),
        ('{"anonymous": tru}', "/anonymous"),
        ('{"title": "a\nb"}', "/title"),
        ('{"event_types": ["complaint.submitted", }', "/event_types/1"),
        ('{"a/b~c": }', "/a~1b~0c"),
        ('{"title"  "x"}', "/title"),
        ('{"a": {"b": [1, {"c": ', "/a/b/1/c"),
        ('{"a": 1} x', "/"),
        ("", "/"),
    ],
)
def test_the_pointer_of_a_json_syntax_error(text: str, pointer: str) -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)

    assert json_error_pointer(caught.value.doc, caught.value.pos) == pointer


async def test_any_other_400_has_the_bad_request_code() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/broken")
    async def broken() -> None:
        raise HTTPException(400, "no good")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/broken")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert response.json()["detail"] == "no good"
