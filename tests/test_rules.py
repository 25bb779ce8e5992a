"""The written rules of docs/conventions.md, each as a test that fails on its breach.

Each rule names the bug it prevents. A line may opt out with a trailing `# rule-ok: <reason>`
comment; the reason is then in the code for review to judge.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.models import Base

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("services", "gateway", "intake", "routing", "notifications")
ESCAPE = "# rule-ok:"


def sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def escaped(path: Path, line: int) -> bool:
    return ESCAPE in path.read_text().splitlines()[line - 1]


# --- commits only at the edges ---------------------------------------------------------------
# The bug: a service method that commits makes a half-done operation durable when a later step
# fails, and its events get published for a change the caller then rolls back.
COMMIT_EDGES = {
    "services/uow.py",  # the request and job edge
    "services/worker.py",  # a failure recorded in its own transaction
    "services/events/outbox.py",  # publish bookkeeping, the relay's chunks
    "services/events/reconciler.py",  # one short transaction per batch
    "services/cli.py",  # `aduan seed`
    "notifications/dispatcher.py",  # claim and record around each HTTP attempt (leases)
    "gateway/accounts/uow.py",  # the gateway's request and command edge (no outbox)
}


def commits(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
        and not escaped(path, node.lineno)
    ]


def test_only_the_edges_commit() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sources()
        if str(path.relative_to(ROOT)) not in COMMIT_EDGES
        for line in commits(path)
    ]
    assert offenders == []


# --- SQL only in repositories ----------------------------------------------------------------
# The bug: queries spread through services and routers cannot be reviewed, indexed or reused in
# one place, and a router that queries skips the service's rules.
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "exists", "union", "tuple_"}
SQL_PLACES = {
    "services/events/failures.py",  # the kernel's repository of events and failures
    "services/events/outbox.py",  # the outbox edge: relay reads, published marks
    "services/worker.py",  # the inbox insert of the job edge
    "services/seed.py",  # reference data loading
    "services/app.py",  # SELECT 1 of /readyz
}


def sql_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
        if alias.name in SQL_BUILDERS or alias.name == "insert"
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in imported
        and not escaped(path, node.lineno)
    ]


def sql_allowed(relative: str) -> bool:
    return (
        relative.endswith("repository.py")
        or relative.startswith("services/models/")
        or relative in SQL_PLACES
    )


def test_sql_is_written_only_in_repositories() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sources()
        if not sql_allowed(str(path.relative_to(ROOT)))
        for line in sql_calls(path)
    ]
    assert offenders == []


# --- each table written by its owner ----------------------------------------------------------
# The bug: two services writing one table each assume they alone keep its invariants. The one
# shared aggregate, the complaint, is written by intake and routing through the state machine.
OWNERS: dict[str, set[str]] = {
    "Complaint": {"intake", "routing"},
    "ComplaintAgency": {"routing"},
    "IdempotencyRecord": {"intake"},
    "Agency": {"routing", "services"},  # services: the seed
    "Region": {"services"},
    "Category": {"services", "routing"},  # services: the seed; routing: admin edits
    "DispositionRule": {"routing"},
    "ComplaintClock": {"routing"},
    "ComplaintFollowUp": {"routing"},
    "Event": {"services"},
    "ProcessedEvent": {"services"},
    "EventFailure": {"services"},
    "WebhookEndpoint": {"notifications"},
    "WebhookDelivery": {"notifications"},
    "Account": {"gateway"},
    "RefreshToken": {"gateway"},
    "ApiKey": {"gateway"},
    # convo: followers of a complaint (comments, replies and ratings are events)
    "ComplaintFollower": {"intake"},
    "Open311Request": {"intake"},  # Open311 GeoReport v2
    "ComplaintAttachment": {"intake"},  # attachments (issue 8)
    # statistics (routing/stats)
    "StatsComplaintFact": {"routing"},
    "StatsWeekly": {"routing"},
    "StatsWeeklyAgency": {"routing"},
    "StatsSpan": {"routing"},
    "StatsCategoryCount": {"routing"},
    "StatsAreaWeekly": {"routing"},
    "StatsWatermark": {"routing"},
    # notifications to people (issue 9, people)
    "NotificationContact": {"notifications"},
    "NotificationPreference": {"notifications"},
    "NotificationFollower": {"notifications"},
    "PersonMessage": {"notifications"},
    # webhooks (issue 9): each attempt of a delivery
    "WebhookAttempt": {"notifications"},
}
WRITES = {"insert", "update", "delete", "pg_insert"}


def table_writes(path: Path) -> list[tuple[int, str]]:
    """(line, model) of every model constructed or named in an insert/update/delete."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or escaped(path, node.lineno):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in OWNERS:
            found.append((node.lineno, node.func.id))
        elif (
            isinstance(node.func, ast.Name)
            and node.func.id in WRITES
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in OWNERS
        ):
            found.append((node.lineno, node.args[0].id))
    return found


def test_every_table_has_an_owner() -> None:
    models = {mapper.class_.__name__ for mapper in Base.registry.mappers}
    assert models - set(OWNERS) == set()


def test_each_table_is_written_by_its_owner_only() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} writes {model}"
        for path in sources()
        if not str(path.relative_to(ROOT)).startswith("services/models/")
        for line, model in table_writes(path)
        if path.relative_to(ROOT).parts[0] not in OWNERS[model]
    ]
    assert offenders == []


# --- the checks catch what they are for ---------------------------------------------------------


@pytest.fixture
def offender(tmp_path: Path) -> Path:
    path = tmp_path / "bad.py"
    path.write_text(
        "from sqlalchemy import select, update\n"
        "from services.models import WebhookEndpoint\n"
        "async def sneaky(session):\n"
        "    await session.execute(select(WebhookEndpoint))\n"
        "    await session.execute(update(WebhookEndpoint).values(active=False))\n"
        "    session.add(WebhookEndpoint(url='x'))\n"
        "    await session.commit()\n"
        "    await session.commit()  # rule-ok: shown to be skipped\n"
    )
    return path


def test_the_checks_catch_a_breach(offender: Path) -> None:
    assert commits(offender) == [7]
    assert sql_calls(offender) == [4, 5]
    assert sorted(table_writes(offender)) == [(5, "WebhookEndpoint"), (6, "WebhookEndpoint")]
