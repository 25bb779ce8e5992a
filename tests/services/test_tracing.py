"""W3C Trace Context: parsing `traceparent`, carrying the trace id through the logs, the events
and the workers; and JSON log lines."""

import json
import logging
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.worker import route_event
from services.cli import write_procfile
from services.context import current_trace_id, trace_context
from services.events.envelope import EventEnvelope
from services.logging import JsonFormatter
from services.models import Event
from services.runtime import Runtime
from services.tracing import (
    TraceParent,
    incoming_or_new,
    is_trace_id,
    parse_traceparent,
    traceparent_for,
)
from services.worker import event_task
from tests.factories import add_complaint, add_event

ROOT = Path(__file__).resolve().parents[2]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


# --- traceparent ---------------------------------------------------------------------------


def test_a_valid_traceparent_is_read() -> None:
    assert parse_traceparent(f"00-{TRACE}-{PARENT}-01") == TraceParent(TRACE, PARENT, "01")
    assert parse_traceparent(f"00-{TRACE}-{PARENT}-00") == TraceParent(TRACE, PARENT, "00")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE}-{PARENT}",  # no flags
        f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE.upper()}-{PARENT}-01",  # lower case hex only
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"ff-{TRACE}-{PARENT}-01",  # version ff is invalid
        f"0x-{TRACE}-{PARENT}-01",
        f"00-{TRACE[:-1]}g-{PARENT}-01",
        f"00_{TRACE}_{PARENT}_01",
        f"00-{TRACE}-{PARENT}-1",
    ],
)
def test_an_invalid_traceparent_is_ignored(header: str | None) -> None:
    assert parse_traceparent(header) is None


def test_a_later_version_is_read_by_its_first_four_fields() -> None:
    assert parse_traceparent(f"01-{TRACE}-{PARENT}-03-more") == TraceParent(TRACE, PARENT, "01")
    assert parse_traceparent(f"01-{TRACE}-{PARENT}-01x") is None


def test_the_callers_trace_is_kept_with_a_span_of_our_own() -> None:
    trace, kept = incoming_or_new([f"00-{TRACE}-{PARENT}-00"])

    assert kept and trace.trace_id == TRACE and trace.flags == "00"
    assert trace.parent_id != PARENT and len(trace.parent_id) == 16
    assert parse_traceparent(trace.header()) == trace


@pytest.mark.parametrize("headers", [[], ["nonsense"], [f"00-{TRACE}-{PARENT}-01"] * 2])
def test_no_or_bad_or_repeated_headers_start_a_new_trace(headers: list[str]) -> None:
    trace, kept = incoming_or_new(headers)

    assert not kept
    assert is_trace_id(trace.trace_id) and trace.trace_id != TRACE
    assert trace.flags == "01"


def test_an_outbound_call_carries_the_trace_with_a_new_span() -> None:
    first, second = (
        parse_traceparent(traceparent_for(TRACE)),
        parse_traceparent(traceparent_for(TRACE)),
    )
    assert first is not None and second is not None
    assert first.trace_id == second.trace_id == TRACE
    assert first.parent_id != second.parent_id
    # Not a W3C trace id (an event from before W3C ids): a fresh trace, still a valid header.
    fresh = parse_traceparent(traceparent_for("t-1"))
    assert fresh is not None and fresh.trace_id != "t-1"


# --- logs ----------------------------------------------------------------------------------


def record(message: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("aduan.test")
    return logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, (), None, extra=extra)


def test_a_log_line_is_one_json_object_with_the_context_ids() -> None:
    with trace_context(TRACE, "req-1"):
        line = json.loads(JsonFormatter().format(record("routed", event_id="e-1")))

    assert line["message"] == "routed"
    assert line["level"] == "INFO"
    assert line["logger"] == "aduan.test"
    assert line["trace_id"] == TRACE
    assert line["request_id"] == "req-1"
    assert line["event_id"] == "e-1"
    assert line["time"].endswith("+00:00")
    assert current_trace_id() is None  # restored after the block


def test_a_trace_id_given_on_the_line_wins_over_the_context() -> None:
    with trace_context("a" * 32):
        line = json.loads(JsonFormatter().format(record("x", trace_id=TRACE)))
    assert line["trace_id"] == TRACE


def test_an_exception_stays_inside_its_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logger = logging.getLogger("aduan.test")
        failed = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    text = JsonFormatter().format(failed)

    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


# --- workers -------------------------------------------------------------------------------


async def test_the_routing_worker_logs_and_records_in_the_trace_of_the_event(
    runtime: Runtime, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    trace_id = secrets.token_hex(16)
    async with runtime.sessionmaker() as setup:
        filed = await add_complaint(setup)
        event = await add_event(setup, complaint=filed)
        event.trace_id = trace_id
        await setup.commit()
        submitted = EventEnvelope.of(event)
    caplog.set_level(logging.INFO)

    await event_task("routing", route_event)(
        {"runtime": runtime}, submitted.model_dump(mode="json")
    )

    (line,) = [
        r for r in caplog.records if r.getMessage() == "routing processed complaint.submitted"
    ]
    formatted = json.loads(JsonFormatter().format(line))
    assert formatted["trace_id"] == trace_id
    assert formatted["event_id"] == str(submitted.id)
    assert filed.tracking_id not in caplog.text
    # The events routing recorded carry the trace on, with routing's system identity.
    later = (
        await session.scalars(
            select(Event).where(Event.complaint_id == filed.id, Event.id != submitted.id)
        )
    ).all()
    assert {e.type for e in later} == {"complaint.verified", "complaint.dispositioned"}
    assert {e.trace_id for e in later} == {trace_id}
    assert {(e.actor_kind, e.actor_id) for e in later} == {("system", "routing")}
    assert current_trace_id() is None  # the job leaves no trace behind for the next one


async def test_an_event_without_a_trace_gets_one_of_its_own(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    async with runtime.sessionmaker() as setup:
        event = await add_event(setup)
        await setup.commit()
    caplog.set_level(logging.INFO)
    seen: list[str | None] = []

    async def handler(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
        seen.append(current_trace_id())

    await event_task("probe", handler)({"runtime": runtime}, EventEnvelope.of(event).model_dump())

    assert seen == [event.id.hex]


# --- aduan run: the private key goes to the gateway alone ---------------------------------


def test_aduan_run_gives_the_signing_key_to_the_gateway_process_alone(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile.in"
    procfile.write_text("gateway: env\nintake: env\nrouting-worker: env\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    generated = Path(write_procfile(procfile, run_dir, "the-private-key"))

    # honcho runs each command with the shell; a key from `.env` (which honcho passes to every
    # process) must not survive into the services either.
    environments = {}
    for line in generated.read_text().splitlines():
        name, command = line.split(": ", 1)
        shown = subprocess.run(
            ["/bin/sh", "-c", command],
            env={"PATH": "/usr/bin:/bin", "ADUAN_INTERNAL_SIGNING_KEY": "from-dotenv"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        environments[name] = dict(
            item.split("=", 1) for item in shown.splitlines() if item.startswith("ADUAN_")
        )

    assert environments["gateway"]["ADUAN_INTERNAL_SIGNING_KEY"] == "the-private-key"
    assert environments["intake"]["ADUAN_INTERNAL_SIGNING_KEY"] == ""
    assert environments["routing-worker"]["ADUAN_INTERNAL_SIGNING_KEY"] == ""
    assert "the-private-key" not in generated.read_text()
    assert (run_dir / "gateway.env").stat().st_mode & 0o077 == 0


def test_compose_gives_the_signing_key_to_the_gateway_alone() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, service in services.items():
        env = service.get("environment", {})
        if name == "gateway":
            assert "ADUAN_INTERNAL_SIGNING_KEY" in env
        else:
            assert "ADUAN_INTERNAL_SIGNING_KEY" not in env, name
        if name not in ("postgres", "redis"):
            assert "ADUAN_INTERNAL_VERIFY_KEYS" in env, name
