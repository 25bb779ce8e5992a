"""The merged OpenAPI document is a contract the running platform keeps.

Schemathesis reads the gateway's /openapi.json and sends every operation the schema's examples,
its boundary and invalid values (coverage), generated requests (fuzzing) and chains of calls
(stateful: create, then read or delete what was created) through the real gateway, once per kind
of caller. No answer may be a 5xx, and every status code, content type, documented header and
body must be what the operation documents (`application/problem+json` for every problem).

The platform is a separate one, with a database of its own: the generated complaints, accounts,
keys and webhook endpoints must not reach the other end-to-end tests. Its notifications worker
is stopped once it is up, so no webhook is ever POSTed to a host a fuzzer made up; the API
(the contract) is served by the notifications service, which keeps running.

The passes run one after another, the admins' last: an admin may revoke keys and deactivate
accounts, and a pass must not lose its credentials to an earlier one. The bootstrap admin key,
which nothing can revoke, runs the very last pass.
"""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.settings import Settings
from tests.databases import scratch_database
from tests.e2e.credentials import World, make_world
from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

# Anonymous, a citizen, an agency's coordinator, an agency's system, and the bootstrap admin key
# (national admins' staff accounts pass the same policy as that key: a pass of their own doubled
# the run's time once issues 8-10 brought some 60 more operations).
CALLERS = ("anonymous", "citizen", "coordinator", "agency_key", "bootstrap_admin")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
MAX_EXAMPLES = 5  # generated cases per operation and phase, besides examples and boundaries
SECONDS_PER_PASS = 420  # a hung run fails instead of holding CI


@pytest.fixture(scope="module")
def contract_settings(settings: Settings, servers: tuple[str, str]) -> Iterator[Settings]:
    with scratch_database(servers[0], "aduan_contract") as url:
        yield settings.model_copy(
            update={
                "database_url": url,
                "queue_prefix": f"contract{os.getpid()}{secrets.token_hex(3)}",
            }
        )


@pytest.fixture(scope="module")
def contract_platform(
    contract_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    log_dir: Path = tmp_path_factory.mktemp("contract-logs")
    running = Platform(contract_settings, log_dir)
    try:
        running.start()
        running.stop_process("notifications-worker")  # no deliveries to made-up hosts
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
async def world(contract_settings: Settings, contract_platform: Platform) -> World:
    return await make_world(contract_settings, contract_platform.gateway)


def run_schemathesis(gateway: str, headers: dict[str, str], workdir: Path) -> tuple[bool, str]:
    """One schemathesis run over the whole merged document: (passed, its report)."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{gateway}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",  # the same cases every run
        # One worker: schemathesis's threads trip CPython 3.11's ast.parse, which is not
        # thread-safe ("AST constructor recursion depth mismatch", python/cpython#106905).
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    result = subprocess.run(
        command,
        cwd=workdir,  # schemathesis writes nothing into the repository
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_PASS,
        check=False,
    )
    return result.returncode == 0, result.stdout + result.stderr


def _failures(report: str) -> str:
    """The report's failures and summary (its header and progress are noise)."""
    start = report.find("=== FAILURES ===")
    return report[report.rfind("\n", 0, start) + 1 :] if start >= 0 else report[-20_000:]


def test_the_merged_document_declares_how_to_authenticate(contract_platform: Platform) -> None:
    document: dict[str, Any] = httpx.get(f"{contract_platform.gateway}/openapi.json").json()

    assert document["x-aduan-unavailable"] == []
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert {"bearerAuth": []} in document["security"]


def test_every_operation_answers_only_what_it_documents(
    world: World, contract_platform: Platform, tmp_path: Path
) -> None:
    failures: dict[str, str] = {}
    for name in CALLERS:
        passed, report = run_schemathesis(
            contract_platform.gateway, dict(world.callers[name].headers), tmp_path
        )
        if not passed:
            failures[name] = _failures(report)
            continue
        # It tested the operations (a document that failed to load would test none).
        assert "Tested:" in report and " passed" in report, report[-5_000:]
    assert not failures, "\n\n".join(
        f"########## as {name}\n{report}" for name, report in failures.items()
    )
