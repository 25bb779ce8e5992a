"""A mobile app retrying on a flaky network: concurrent creates with one Idempotency-Key file one
complaint, and every request gets the same 201."""

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from services.db import create_engine
from services.models import Complaint
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e


async def test_four_concurrent_creates_with_one_key_make_one_complaint_and_four_identical_201s(
    platform: Platform, settings: Settings
) -> None:
    key = str(uuid.uuid4())
    title = f"Jalan berlubang {key[:8]}"
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/complaints",
                    json=complaint_payload(title=title),
                    headers={"Idempotency-Key": key},
                )
                for _ in range(4)
            )
        )

        other = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(title=f"Lampu jalan mati {key[:8]}"),
            headers={"Idempotency-Key": key},
        )

    assert [a.status_code for a in answers] == [201] * 4
    # Identical answers: the replays give the complaint as it was filed, token included.
    assert all(a.json() == answers[0].json() for a in answers)
    assert answers[0].json()["reporter_token"].startswith("rpt_")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_mismatch"
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == [
        "",
        "true",
        "true",
        "true",
    ]
    engine = create_engine(settings, pool_size=1)
    try:
        async with engine.connect() as conn:
            filed = await conn.scalar(
                select(func.count()).select_from(Complaint).where(Complaint.title == title)
            )
    finally:
        await engine.dispose()
    assert filed == 1
