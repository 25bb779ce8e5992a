"""One W3C trace through the real processes: the `traceparent` a caller sends shows up in the
gateway's, intake's and the routing worker's logs and on the webhooks the complaint caused."""

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.settings import Settings
from services.tracing import parse_traceparent
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.receiver import Received, running_receiver

pytestmark = pytest.mark.e2e


def admin(settings: Settings) -> dict[str, str]:
    assert settings.admin_api_key is not None
    return {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"}


def log_lines(platform: Platform, name: str) -> list[dict[str, Any]]:
    """Every JSON line of a process's log (each one must be JSON)."""
    path: Path = platform.log_dir / f"{name}.log"
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.strip():
            lines.append(json.loads(raw))
    return lines


async def traced_lines(
    platform: Platform, name: str, trace_id: str, seconds: float = 15
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        found = [line for line in log_lines(platform, name) if line.get("trace_id") == trace_id]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def webhooks_of(received: list[Received], trace_id: str, count: int) -> list[Received]:
    deadline = time.monotonic() + 30
    while True:
        mine = [
            r
            for r in received
            if (parent := parse_traceparent(r.headers.get("traceparent")))
            and parent.trace_id == trace_id
        ]
        if len(mine) >= count or time.monotonic() > deadline:
            return mine
        await asyncio.sleep(0.2)


async def test_one_traceparent_reaches_every_log_and_the_webhooks_it_caused(
    platform: Platform, settings: Settings
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{caller_span}-01"
    payload = complaint_payload()
    async with (
        running_receiver() as receiver,
        httpx.AsyncClient(base_url=platform.gateway) as client,
    ):
        endpoint = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": receiver.url, "region_codes": ["11"]},
            headers=admin(settings),
        )
        assert endpoint.status_code == 201, endpoint.text

        created = await client.post(
            "/api/v1/complaints", json=payload, headers={"traceparent": traceparent}
        )
        assert created.status_code == 201, created.text
        tracking_id = created.json()["tracking_id"]

        webhooks = await webhooks_of(receiver.received, trace_id, 3)

    # The webhooks of the complaint's three events carry the caller's trace, each with a span
    # of its own (the sender's), never the caller's span id.
    types = sorted(json.loads(w.body)["type"] for w in webhooks)
    assert types == ["complaint.dispositioned", "complaint.submitted", "complaint.verified"]
    spans = set()
    for webhook in webhooks:
        parent = parse_traceparent(webhook.headers["traceparent"])
        assert parent is not None and parent.trace_id == trace_id
        spans.add(parent.parent_id)
    assert caller_span not in spans

    gateway = await traced_lines(platform, "gateway", trace_id)
    assert [(line["route"], line["status"]) for line in gateway] == [("/api/v1/complaints", 201)]
    assert gateway[0]["identity"] == "anonymous"
    assert gateway[0]["request_id"] == created.headers["x-request-id"]

    intake = await traced_lines(platform, "intake", trace_id)
    assert any(line["message"] == "recorded complaint.submitted" for line in intake), intake
    assert all(line["request_id"] == created.headers["x-request-id"] for line in intake)

    routing = await traced_lines(platform, "routing-worker", trace_id)
    messages = {line["message"] for line in routing}
    assert "routing processed complaint.submitted" in messages, routing
    assert {"recorded complaint.verified", "recorded complaint.dispositioned"} <= messages

    notifications = await traced_lines(platform, "notifications-worker", trace_id)
    assert notifications, "the notifications worker logs the events it fanned out"

    # What the traced lines say is ids and outcomes, never the complaint's content or its
    # tracking id.
    traced = json.dumps(gateway + intake + routing + notifications)
    for private in (tracking_id, payload["reporter"]["email"], payload["reporter"]["phone"]):
        assert private not in traced


def test_only_the_gateway_process_holds_the_signing_key(platform: Platform) -> None:
    """Every process's real environment: the private key is in the gateway's alone."""
    key = platform.signing_key
    for name, process in platform.processes.items():
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        held = [v for v in environ if v.startswith(b"ADUAN_INTERNAL_SIGNING_KEY=")]
        if name == "gateway":
            assert held == [f"ADUAN_INTERNAL_SIGNING_KEY={key}".encode()]
        else:
            assert held == [], name
            assert key.encode() not in b"\0".join(environ), name
