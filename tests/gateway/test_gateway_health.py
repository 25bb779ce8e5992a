"""Liveness, platform readiness and metrics of the gateway."""

import httpx
import pytest
import redis.asyncio as aioredis

from gateway.main import create_gateway_app
from services.queue import queue_name
from tests.gateway.conftest import ADMIN_KEY, make_settings


async def test_healthz(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_every_service_and_redis_answer(
    gateway: httpx.AsyncClient, redis_url: str
) -> None:
    settings = make_settings()
    key = f"{queue_name(settings, 'routing')}:health-check"
    client = aioredis.Redis.from_url(redis_url)
    await client.set(key, "j_complete=0", ex=60)
    try:
        response = await gateway.get("/readyz")
    finally:
        await client.delete(key)
        await client.aclose()

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "intake": "ok",
        "routing": "ok",
        "notifications": "ok",
        "redis": "ok",
    }
    # Informational: a missing worker does not make the platform unready.
    assert body["workers"] == {"routing": "ok", "notifications": "missing"}


async def test_not_ready_when_a_service_is_down_or_unready(
    broken_gateway: httpx.AsyncClient,
) -> None:
    response = await broken_gateway.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    checks = body["checks"]
    assert checks["intake"] == "ok"
    assert checks["redis"] == "ok"
    assert checks["routing"].startswith("error: unreachable")
    assert checks["notifications"].startswith("error: HTTP 503")
    assert "database" in checks["notifications"]


async def test_metrics_count_upstream_calls(gateway: httpx.AsyncClient) -> None:
    await gateway.get("/api/v1/agencies/1")

    response = await gateway.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    assert response.status_code == 200
    assert "aduan_gateway_upstream_requests_total" in response.text
    assert 'upstream="routing"' in response.text


async def test_the_gateway_refuses_to_start_without_its_signing_key() -> None:
    app = create_gateway_app(make_settings(internal_signing_key=None))

    with pytest.raises(RuntimeError, match="INTERNAL_SIGNING_KEY"):
        async with app.router.lifespan_context(app):
            pass


async def test_readiness_checks_the_accounts_database(accounts_gateway: httpx.AsyncClient) -> None:
    response = await accounts_gateway.get("/readyz")

    assert response.json()["checks"]["database"] == "ok"
