"""The complaint the figures file, and filing it through the gateway in bulk."""

import asyncio
import json
from typing import Any

import aiohttp

from bench.stack import Platform

COMPLAINT: dict[str, Any] = {
    "report_type": "pengaduan",
    "title": "Jalan berlubang di depan Pasar Bakongan",
    "description": "Jalan utama di depan pasar berlubang besar sejak dua bulan dan "
    "membahayakan pengendara motor.",
    "category": "infrastruktur",
    "region_code": "11.01.01",
    "occurred_on": "2026-11-20",
    "reporter": {"name": "Siti", "email": "siti@example.id", "phone": "+6281234567890"},
    "anonymous": False,
    "confidential": False,
}
COMPLAINT_BODY = json.dumps(COMPLAINT).encode()
CREATE_PATH = "/api/v1/complaints"


async def file_complaints(platform: Platform, count: int, concurrency: int = 16) -> list[str]:
    """File `count` complaints through the gateway; their tracking ids."""
    tracking_ids: list[str] = []
    failures: list[str] = []
    queue = iter(range(count))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def client() -> None:
            for _ in queue:
                async with http.post(
                    platform.gateway + CREATE_PATH,
                    data=COMPLAINT_BODY,
                    headers={"content-type": "application/json"},
                ) as response:
                    body = await response.text()
                    if response.status == 201:
                        tracking_ids.append(json.loads(body)["tracking_id"])
                    else:
                        failures.append(f"{response.status} {body[:200]}")

        await asyncio.gather(*(client() for _ in range(concurrency)))
    if failures:
        raise RuntimeError(f"{len(failures)} of {count} complaints refused: {failures[0]}")
    return tracking_ids
