"""Acceptance 4: the 61st anonymous create in a minute from one address answers 429 with
Retry-After and the RateLimit headers, also when the requests alternate between two gateway
processes (real `aduan serve gateway` processes sharing the real Redis)."""

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.gateway.test_ratelimit import assert_refused, parse_rate_limit

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_gateways(platform: Platform) -> Iterator[tuple[str, str]]:
    """Two more gateways in front of the platform's services, with the default limits on and
    windows of their own (a fresh key prefix: no other test or run shares them)."""
    env = {
        "ADUAN_RATE_LIMITS_ENABLED": "true",
        "ADUAN_QUEUE_PREFIX": f"ratelimit-e2e-{uuid.uuid4().hex[:10]}",
    }
    names = ("gateway-a", "gateway-b")
    try:
        yield (platform.start_gateway(names[0], env), platform.start_gateway(names[1], env))
    finally:
        for name in names:
            if name in platform.processes:
                platform.stop_process(name)


def test_the_61st_anonymous_create_across_two_gateway_processes_is_refused(
    two_gateways: tuple[str, str],
) -> None:
    a, b = (httpx.Client(base_url=url, timeout=10) for url in two_gateways)
    with a, b:
        remaining = []
        for n in range(60):
            gateway = (a, b)[n % 2]
            response = gateway.post(
                "/api/v1/complaints", json=complaint_payload(title=f"Jalan berlubang {n}")
            )
            assert response.status_code == 201, (n, response.text)
            assert parse_rate_limit(response.headers["ratelimit-policy"])["anonymous_create"] == {
                "q": 60,
                "w": 60,
            }
            remaining.append(parse_rate_limit(response.headers["ratelimit"])["anonymous_create"])

        refused = a.post("/api/v1/complaints", json=complaint_payload())
        refused_too = b.post("/api/v1/complaints", json=complaint_payload())
        # Reading is another group: the same address may still track its complaints.
        tracked = b.get(f"/api/v1/complaints/{response.json()['tracking_id']}")

    # One window for both processes: each answer saw the other process's requests.
    assert [r["r"] for r in remaining] == list(range(59, -1, -1))
    assert all(0 < r["t"] <= 60 for r in remaining)
    for answer in (refused, refused_too):
        assert_refused(answer, "anonymous_create", 60)
    assert refused.json()["status"] == 429
    assert tracked.status_code == 200
