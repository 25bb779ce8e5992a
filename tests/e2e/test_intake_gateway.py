"""Issue 8's complaints through the real gateway and services: the invalid-input table (each bad
create is a 4xx problem naming the failing field and writes nothing), regional systems'
forwards with a real API key, the public listing with Indonesian search, the timeline, and
tracking ids typed wrong."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import create_engine, create_sessionmaker
from services.domain.tracking import ALPHABET
from services.models import Complaint, Event, IdempotencyRecord
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.factories import add_api_key

pytestmark = pytest.mark.e2e

TOMORROW_IN_JAKARTA = (datetime.now(UTC) + timedelta(hours=7, days=1)).date().isoformat()
NO_AGENCY = "00000000-0000-4000-8000-00000000dead"  # no such agency


def body(**overrides: Any) -> str:
    return json.dumps(complaint_payload(**overrides))


def without(field: str) -> str:
    payload = complaint_payload()
    del payload[field]
    return json.dumps(payload)


# (name, raw body, content type, status, the pointer of the failing field)
INVALID: list[tuple[str, str, str, int, str]] = [
    ("malformed JSON", '{"title": ', "application/json", 422, "/title"),
    ("empty body", "", "application/json", 422, "/"),
    ("a JSON array", "[1, 2]", "application/json", 422, "/"),
    ("text instead of JSON", body(), "text/plain", 415, "/header/Content-Type"),
    (
        "a form instead of JSON",
        "title=Jalan+rusak",
        "application/x-www-form-urlencoded",
        415,
        "/header/Content-Type",
    ),
    ("unknown report type", body(report_type="gosip"), "application/json", 422, "/report_type"),
    ("report type a number", body(report_type=3), "application/json", 422, "/report_type"),
    ("no title", without("title"), "application/json", 422, "/title"),
    ("title too short", body(title="Ja"), "application/json", 422, "/title"),
    ("title too long", body(title="J" * 151), "application/json", 422, "/title"),
    ("title a number", body(title=12345), "application/json", 422, "/title"),
    (
        "description too short",
        body(description="Jalan rusak."),
        "application/json",
        422,
        "/description",
    ),
    ("description too long", body(description="a" * 4001), "application/json", 422, "/description"),
    ("description null", body(description=None), "application/json", 422, "/description"),
    ("region code malformed", body(region_code="11-01"), "application/json", 422, "/region_code"),
    ("region code unknown", body(region_code="99.99"), "application/json", 422, "/region_code"),
    ("region code a number", body(region_code=11), "application/json", 422, "/region_code"),
    ("category unknown", body(category="sulap"), "application/json", 422, "/category"),
    ("category empty", body(category=""), "application/json", 422, "/category"),
    (
        "incident tomorrow",
        body(occurred_on=TOMORROW_IN_JAKARTA),
        "application/json",
        422,
        "/occurred_on",
    ),
    (
        "incident date not ISO",
        body(occurred_on="20-11-2026"),
        "application/json",
        422,
        "/occurred_on",
    ),
    (
        "incident date impossible",
        body(occurred_on="2026-02-30"),
        "application/json",
        422,
        "/occurred_on",
    ),
    (
        "latitude of New York",
        body(latitude=40.7, longitude=120.0),
        "application/json",
        422,
        "/latitude",
    ),
    (
        "longitude of Paris",
        body(latitude=-6.2, longitude=2.35),
        "application/json",
        422,
        "/longitude",
    ),
    ("latitude without longitude", body(latitude=-6.2), "application/json", 422, "/longitude"),
    ("longitude without latitude", body(longitude=106.8), "application/json", 422, "/latitude"),
    (
        "latitude a word",
        body(latitude="utara", longitude=106.8),
        "application/json",
        422,
        "/latitude",
    ),
    (
        "latitude too precise",
        body(latitude=-6.1234567, longitude=106.8),
        "application/json",
        422,
        "/latitude",
    ),
    (
        "target agency not a UUID",
        body(target_agency_id="pemda"),
        "application/json",
        422,
        "/target_agency_id",
    ),
    (
        "target agency unknown",
        body(target_agency_id=NO_AGENCY),
        "application/json",
        422,
        "/target_agency_id",
    ),
    ("channel unknown", body(channel="fax"), "application/json", 422, "/channel"),
    (
        "channel claimed by the public",
        body(channel="regional_system"),
        "application/json",
        422,
        "/channel",
    ),
    (
        "external_ref from the public",
        body(external_ref="LPR-1"),
        "application/json",
        422,
        "/external_ref",
    ),
    ("unknown field", body(priority="tinggi"), "application/json", 422, "/priority"),
    ("anonymous as a word", body(anonymous="yes"), "application/json", 422, "/anonymous"),
    ("confidential as a number", body(confidential=1), "application/json", 422, "/confidential"),
    (
        "reporter email broken",
        body(reporter={"email": "siti@"}),
        "application/json",
        422,
        "/reporter/email",
    ),
    (
        "reporter phone letters",
        body(reporter={"phone": "nomor saya"}),
        "application/json",
        422,
        "/reporter/phone",
    ),
    ("reporter a string", body(reporter="Siti"), "application/json", 422, "/reporter"),
    ("address too long", body(address="Jl. " * 126), "application/json", 422, "/address"),
]


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, pool_size=1)
    yield engine
    await engine.dispose()


async def written(engine: AsyncEngine) -> tuple[int, int, int]:
    """Complaints, submitted events (only a create writes one) and idempotency records."""
    async with engine.connect() as conn:
        complaints = await conn.scalar(select(func.count()).select_from(Complaint))
        submitted = await conn.scalar(
            select(func.count()).select_from(Event).where(Event.type == "complaint.submitted")
        )
        records = await conn.scalar(select(func.count()).select_from(IdempotencyRecord))
    return int(complaints or 0), int(submitted or 0), int(records or 0)


def test_the_table_holds_at_least_thirty_distinct_invalid_inputs() -> None:
    assert len(INVALID) >= 30
    assert len({name for name, *_ in INVALID}) == len(INVALID)


async def test_every_invalid_create_is_a_problem_naming_its_field_and_writes_nothing(
    platform: Platform, engine: AsyncEngine
) -> None:
    before = await written(engine)
    wrong: list[str] = []
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        for name, raw, content_type, status, pointer in INVALID:
            response = await client.post(
                "/api/v1/complaints",
                content=raw.encode(),
                headers={
                    "Content-Type": content_type,
                    "Idempotency-Key": f"invalid-{uuid.uuid4()}",
                    "Accept-Language": "en",
                },
            )
            problem = response.json() if response.content else {}
            pointers = [e["pointer"] for e in problem.get("errors", [])]
            if (
                response.status_code != status
                or response.headers.get("content-type") != "application/problem+json"
                or pointer not in pointers
            ):
                wrong.append(f"{name}: {response.status_code} {pointers} {response.text[:200]}")

    assert wrong == []
    assert await written(engine) == before


async def regional_key(settings: Settings, region_codes: tuple[str, ...]) -> str:
    engine = create_engine(settings, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            _row, key = await add_api_key(
                session, role="regional_system", region_codes=region_codes, name="SP4N Aceh"
            )
            await session.commit()
    finally:
        await engine.dispose()
    return key


async def test_a_regional_system_forwards_once_per_external_ref_and_only_in_its_regions(
    platform: Platform, settings: Settings, engine: AsyncEngine
) -> None:
    key = await regional_key(settings, ("11",))
    ref = f"SP4N-ACEH-{uuid.uuid4().hex[:10]}"
    headers = {"Authorization": f"Bearer {key}"}
    payload = complaint_payload(external_ref=ref, external_tracking_ref="LPR-77")
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        first = await client.post("/api/v1/complaints", json=payload, headers=headers)
        again = await client.post("/api/v1/complaints", json=payload, headers=headers)
        before = await written(engine)
        outside = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(region_code="32.01", external_ref=f"{ref}-b"),
            headers=headers,
        )

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["tracking_id"] == first.json()["tracking_id"]
    # The complaint as filed; the token was handed out once, the hints were for the first time.
    assert {**first.json(), "reporter_token": None, "possible_duplicates": []} == again.json()
    assert first.json()["channel"] == "regional_system"
    assert outside.status_code == 403
    assert outside.headers["content-type"] == "application/problem+json"
    assert await written(engine) == before
    async with engine.connect() as conn:
        filed = await conn.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.external_ref == ref)
        )
    assert filed == 1


async def test_concurrent_forwards_of_one_external_ref_file_one_complaint(
    platform: Platform, settings: Settings, engine: AsyncEngine
) -> None:
    key = await regional_key(settings, ("11.01",))
    ref = f"SP4N-ACEHSEL-{uuid.uuid4().hex[:10]}"
    payload = complaint_payload(external_ref=ref)
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/complaints", json=payload, headers={"Authorization": f"Bearer {key}"}
                )
                for _ in range(3)
            )
        )

    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["tracking_id"] for a in answers}) == 1
    async with engine.connect() as conn:
        filed = await conn.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.external_ref == ref)
        )
    assert filed == 1


async def test_the_public_finds_complaints_by_indonesian_search_and_reads_their_timeline(
    platform: Platform,
) -> None:
    word = f"zx{uuid.uuid4().hex[:8]}"  # one complaint of this run carries it
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=10) as client:
        filed = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(
                region_code="72.71.01",
                title=f"Jalan berlubang {word}",
                description="Lubang besar di jalan membahayakan pengendara motor di Palu Timur.",
            ),
        )
        secret = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(
                region_code="72.71.01",
                title=f"Pungli berlubang {word}",
                description="Petugas meminta uang di jalan masuk terminal Palu.",
                confidential=True,
            ),
        )
        assert filed.status_code == secret.status_code == 201
        found = await client.get(
            "/api/v1/complaints", params={"q": f"lubang {word}", "region": "72.71"}
        )
        tracking_id = filed.json()["tracking_id"]
        timeline = await client.get(f"/api/v1/complaints/{tracking_id}/timeline")
        wrong = next(c for c in ALPHABET if c != tracking_id[-1])
        mistyped = await client.get(f"/api/v1/complaints/{tracking_id[:-1]}{wrong}/timeline")

    assert found.status_code == 200, found.text
    assert [i["tracking_id"] for i in found.json()["items"]] == [tracking_id]
    assert timeline.status_code == 200
    assert timeline.json()["events"][0]["label"] == {
        "id": "Laporan diterima",
        "en": "Complaint received",
    }
    assert mistyped.status_code == 404
    assert mistyped.headers["content-type"] == "application/problem+json"
