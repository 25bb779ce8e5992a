"""The gateway keeps a caller's W3C trace (or starts one) and passes it to the service."""

import json
import secrets

import httpx
import pytest

from services.logging import JsonFormatter
from services.tracing import is_trace_id, parse_traceparent

ECHO = "/api/v1/complaints/echo"


def forwarded(response: httpx.Response) -> str:
    (header,) = response.json()["headers"]["traceparent"]
    return str(header)


async def test_a_callers_traceparent_reaches_the_service_with_the_gateways_span(
    gateway: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="aduan.access")
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)

    response = await gateway.get(ECHO, headers={"traceparent": f"00-{trace_id}-{caller_span}-00"})

    upstream = parse_traceparent(forwarded(response))
    assert upstream is not None
    assert upstream.trace_id == trace_id
    assert upstream.parent_id != caller_span  # the gateway's own span is the service's parent
    assert upstream.flags == "00"  # the caller's sampling decision is kept
    (record,) = [r for r in caplog.records if r.name == "aduan.access"]
    assert json.loads(JsonFormatter().format(record))["trace_id"] == trace_id


@pytest.mark.parametrize(
    "sent",
    [None, "nonsense", f"00-{'0' * 32}-{'1' * 16}-01", f"00-{'A' * 32}-{'1' * 16}-01"],
    ids=["none", "garbage", "zero trace id", "upper case"],
)
async def test_without_a_valid_traceparent_the_gateway_starts_a_trace(
    gateway: httpx.AsyncClient, sent: str | None
) -> None:
    headers = {"traceparent": sent} if sent else {}

    first = parse_traceparent(forwarded(await gateway.get(ECHO, headers=headers)))
    second = parse_traceparent(forwarded(await gateway.get(ECHO, headers=headers)))

    assert first is not None and second is not None
    assert is_trace_id(first.trace_id) and first.trace_id != second.trace_id
    assert sent is None or first.trace_id not in sent.lower()


async def test_the_services_own_context_carries_the_forwarded_trace(
    gateway: httpx.AsyncClient,
) -> None:
    # The upstream echo runs behind the kernel's RequestContextMiddleware too: it keeps the
    # trace the gateway forwarded (the id every log line of that service will name).
    trace_id = secrets.token_hex(16)

    response = await gateway.post(
        ECHO, json={"a": 1}, headers={"traceparent": f"00-{trace_id}-{'2' * 16}-01"}
    )

    assert response.status_code == 200
    assert response.json()["trace_id"] == trace_id
