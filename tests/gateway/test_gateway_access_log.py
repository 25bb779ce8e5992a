"""One JSON line per request at the gateway: route prefix, status, latency, identity kind —
never the identifiers in the path."""

import json

import httpx
import pytest


async def test_each_request_writes_one_line_without_the_tracking_id(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="aduan.access")

    response = await gateway.get("/api/v1/complaints/ADN-7K3QX9P2")

    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "aduan.access"]
    assert len(lines) == 1
    (line,) = lines
    assert line["route"] == "/api/v1/complaints/…"
    assert line["status"] == response.status_code
    assert line["identity"] == "anonymous"
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["ms"] >= 0
    assert "ADN-7K3QX9P2" not in caplog.text
