"""Problem codes come from one catalogue; malformed bodies get a 400 of their own, and a JSON
syntax error points at the body, not at a character offset."""

import ast
from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import httpx
import pytest

from intake.main import create_app
from services.problems import CATALOGUE, ProblemCode
from services.runtime import Runtime
from tests.conftest import service_client

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "gateway", "intake", "routing", "notifications")


def raised_codes() -> set[str]:
    """The literal codes passed to ProblemError(...) and problem_response(request, ...)."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                    continue
                position = {"ProblemError": 0, "problem_response": 1}.get(node.func.id)
                if position is None or len(node.args) <= position:
                    continue
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_the_code_list_and_the_catalogue_are_the_same() -> None:
    assert set(get_args(ProblemCode)) == set(CATALOGUE)


def test_every_raised_code_is_in_the_catalogue() -> None:
    raised = raised_codes()
    assert raised, "the scan found no raised codes at all"
    assert raised - set(CATALOGUE) == set()


@pytest.fixture
async def intake(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


async def test_a_body_that_is_not_utf8_is_a_bad_request(intake: httpx.AsyncClient) -> None:
    response = await intake.post(
        "/api/v1/complaints",
        content=b'{"title": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "bad_request"


async def test_truncated_json_points_at_the_body(intake: httpx.AsyncClient) -> None:
    response = await intake.post(
        "/api/v1/complaints",
        content=b'{"report_type": "pengaduan", "title": "Jal',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["pointer"] == "/"
    assert error["code"] == "json_invalid"
