"""Webhook endpoints on a platform: registering and deactivating them, the receiver behind them."""

import json
import logging
import sys

import aiohttp

from bench.receiver import ReceiverClient
from bench.stack import Platform, Stack
from services.embedded import free_port

log = logging.getLogger("bench")


ENDPOINTS_PATH = "/api/v1/webhooks/endpoints"


def admin_headers(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_key}"}


async def register_endpoint(
    http: aiohttp.ClientSession, platform: Platform, url: str, region_codes: list[str]
) -> str:
    async with http.post(
        platform.gateway + ENDPOINTS_PATH,
        json={"url": url, "region_codes": region_codes},
        headers=admin_headers(platform.stack),
    ) as response:
        body = await response.text()
        if response.status != 201:
            raise RuntimeError(f"registering {url}: {response.status} {body}")
        endpoint_id: str = json.loads(body)["id"]
        platform.endpoints.append(endpoint_id)
        return endpoint_id


async def deactivate_endpoint(
    http: aiohttp.ClientSession, platform: Platform, endpoint_id: str
) -> None:
    async with http.delete(
        f"{platform.gateway}{ENDPOINTS_PATH}/{endpoint_id}", headers=admin_headers(platform.stack)
    ) as response:
        if response.status >= 300:
            log.warning("deactivating %s: %s", endpoint_id, await response.text())
    if endpoint_id in platform.endpoints:
        platform.endpoints.remove(endpoint_id)


async def start_receiver(platform: Platform, slow_seconds: float = 10.0) -> ReceiverClient:
    port = free_port()
    platform.spawn(
        "receiver",
        [
            sys.executable,
            "-m",
            "bench.receiver",
            "--port",
            str(port),
            "--slow-seconds",
            str(slow_seconds),
        ],
    )
    receiver = ReceiverClient(port)
    await receiver.wait_ready()
    return receiver
