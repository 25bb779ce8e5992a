"""One JSON line per request at the gateway: route prefix, status, latency, identity kind and
role, request and trace ids — never the identifiers in the path, nor credentials."""

import json

import httpx
import pytest

from services.logging import JsonFormatter
from tests.gateway.conftest import ADMIN_KEY


async def test_each_request_writes_one_line_without_the_tracking_id(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="aduan.access")

    response = await gateway.get("/api/v1/complaints/ADN-7K3QX9P2")

    records = [r for r in caplog.records if r.name == "aduan.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["level"] == "INFO"
    assert line["logger"] == "aduan.access"
    assert line["route"] == "/api/v1/complaints/…"
    assert line["status"] == response.status_code
    assert line["identity"] == "anonymous"
    assert line["role"] == "anonymous"
    assert line["request_id"] == response.headers["x-request-id"]
    assert len(line["trace_id"]) == 32
    assert line["ms"] >= 0
    assert "ADN-7K3QX9P2" not in caplog.text
    assert "ADN-7K3QX9P2" not in json.dumps(line)


async def test_the_line_names_the_identity_kind_and_role_never_the_credential(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="aduan.access")

    await gateway.get(
        "/api/v1/agencies?region_code=11", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )

    (record,) = [r for r in caplog.records if r.name == "aduan.access"]
    text = JsonFormatter().format(record)
    line = json.loads(text)
    assert (line["identity"], line["role"]) == ("api_key", "admin")
    assert ADMIN_KEY not in text
    assert "region_code" not in text
