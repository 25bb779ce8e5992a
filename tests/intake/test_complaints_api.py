"""The citizen API of intake, in-process, against the real database (rolled back per test)."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.main import create_app
from intake.service import purge_idempotency_records
from services.db import create_engine, create_sessionmaker
from services.embedded import free_port
from services.housekeeping import Chore, run_once
from services.models import Complaint, Event, IdempotencyRecord
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import complaint_payload, service_client

CITIZEN = Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(uuid.uuid4()))


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


async def count(session: AsyncSession, model: type[Complaint] | type[Event]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_filing_stores_complaint_and_submitted_event(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/api/v1/complaints", json=complaint_payload())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tracking_id"].startswith("ADN-")
    assert body["status"] == "submitted"
    assert body["status_label"] == "Belum Terverifikasi"
    assert body["region_name"] == "Bakongan"
    assert response.headers["location"] == f"/api/v1/complaints/{body['tracking_id']}"
    assert [e["type"] for e in body["timeline"]] == ["complaint.submitted"]
    # The filer is the reporter: their own details come back, with the token shown once.
    assert body["reporter"]["email"] == "siti@example.id"
    assert body["reporter_token"].startswith("rpt_")

    stored = await session.scalar(
        select(Complaint).where(Complaint.tracking_id == body["tracking_id"])
    )
    assert stored is not None and stored.reporter_email == "siti@example.id"
    event = await session.scalar(select(Event).where(Event.complaint_id == stored.id))
    assert event is not None and event.type == "complaint.submitted"
    assert event.data["tracking_id"] == body["tracking_id"]
    assert "siti@example.id" not in str(event.data)
    assert body["reporter_token"] not in str(event.data)
    assert stored.reporter_token_hash != body["reporter_token"]


async def test_get_returns_what_was_filed(client: httpx.AsyncClient) -> None:
    created = (await client.post("/api/v1/complaints", json=complaint_payload())).json()

    response = await client.get(f"/api/v1/complaints/{created['tracking_id'].lower()}")

    assert response.status_code == 200
    assert response.json()["title"] == "Jalan berlubang di depan Pasar Bakongan"
    assert response.json()["timeline"][0]["actor"] == "anonymous"
    assert response.json()["timeline"][0]["actor_role"] == "anonymous"
    # A stranger sees a public complaint, never who filed it.
    assert response.json()["reporter"] is None
    assert "siti@example.id" not in response.text


async def test_unknown_tracking_id_is_problem_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/complaints/ADN-NOPE0000")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


async def test_unknown_region_and_category_are_field_errors_and_store_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await count(session, Complaint)
    response = await client.post(
        "/api/v1/complaints",
        json=complaint_payload(region_code="99.99", category="sulap"),
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "Request is not valid"
    assert {(e["pointer"], e["code"]) for e in problem["errors"]} == {
        ("/region_code", "unknown_region"),
        ("/category", "unknown_category"),
    }
    assert await count(session, Complaint) == before


async def test_schema_errors_point_at_fields_in_indonesian(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/complaints",
        json=complaint_payload(report_type="gosip", title="x", region_code="11-01"),
        headers={"Accept-Language": "id-ID,id;q=0.9"},
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "Permintaan tidak valid"
    messages = {e["pointer"]: e["message"] for e in problem["errors"]}
    assert set(messages) == {"/report_type", "/title", "/region_code"}
    assert messages["/title"] == "Minimal 5 karakter"
    assert messages["/region_code"] == "Format tidak sesuai"
    assert messages["/report_type"].startswith("Harus salah satu dari: 'pengaduan'")


async def test_schema_errors_in_english_on_request(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/complaints",
        json={"report_type": "pengaduan"},
        headers={"Accept-Language": "en-US,en;q=0.8"},
    )

    assert response.status_code == 422
    messages = {e["pointer"]: e["message"] for e in response.json()["errors"]}
    assert messages["/title"] == "Field required"
    # The category is optional: routing classifies an uncategorised complaint.
    assert set(messages) == {"/title", "/description", "/region_code"}


async def test_idempotency_key_replays_and_refuses_a_different_body(
    runtime: Runtime, session: AsyncSession
) -> None:
    async with service_client(create_app(runtime.settings), runtime, CITIZEN) as client:
        headers = {"Idempotency-Key": "abc-123"}
        first = await client.post("/api/v1/complaints", json=complaint_payload(), headers=headers)
        again = await client.post("/api/v1/complaints", json=complaint_payload(), headers=headers)
        other = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(title="Lampu jalan mati total"),
            headers=headers,
        )

    assert first.status_code == again.status_code == 201
    assert again.json()["tracking_id"] == first.json()["tracking_id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_mismatch"
    filed = await session.scalar(
        select(func.count()).select_from(Complaint).where(Complaint.submitted_by == CITIZEN.key)
    )
    assert filed == 1


async def test_a_replay_gives_back_the_reporter_token_and_keeps_no_personal_data(
    runtime: Runtime, session: AsyncSession
) -> None:
    async with service_client(create_app(runtime.settings), runtime, CITIZEN) as client:
        headers = {"Idempotency-Key": "replay-token-1"}
        first = await client.post("/api/v1/complaints", json=complaint_payload(), headers=headers)
        again = await client.post("/api/v1/complaints", json=complaint_payload(), headers=headers)

    # The app that lost the first answer still gets the token it needs.
    assert again.json()["reporter_token"] == first.json()["reporter_token"]
    assert again.json()["reporter"]["email"] == "siti@example.id"
    record = await session.get(IdempotencyRecord, (CITIZEN.key, "replay-token-1"))
    assert record is not None
    # Neither the reporter's name nor address ("dispositioned" holds "siti": whole words).
    stored = json.dumps(record.response_body).lower()
    assert "siti@example.id" not in stored and '"siti"' not in stored
    assert "Jalan berlubang" not in json.dumps(record.response_body)


async def test_an_expired_idempotency_key_files_anew(
    runtime: Runtime, session: AsyncSession
) -> None:
    async with service_client(create_app(runtime.settings), runtime, CITIZEN) as client:
        headers = {"Idempotency-Key": "old-key-1"}
        first = await client.post("/api/v1/complaints", json=complaint_payload(), headers=headers)
        record = await session.get(IdempotencyRecord, (CITIZEN.key, "old-key-1"))
        assert record is not None
        record.created_at = datetime.now(UTC) - timedelta(hours=25)
        await session.flush()
        later = await client.post(
            "/api/v1/complaints", json=complaint_payload(title="Lampu jalan mati"), headers=headers
        )

    assert later.status_code == 201
    assert later.json()["tracking_id"] != first.json()["tracking_id"]
    assert "idempotent-replayed" not in later.headers


async def test_anonymous_clients_have_idempotency_scopes_of_their_own(runtime: Runtime) -> None:
    answers = []
    for client_id, title in (("client-a", "Lampu jalan mati"), ("client-b", "Sampah menumpuk")):
        caller = ANONYMOUS.model_copy(update={"client": client_id})
        async with service_client(create_app(runtime.settings), runtime, caller) as client:
            answers.append(
                await client.post(
                    "/api/v1/complaints",
                    json=complaint_payload(title=title),
                    headers={"Idempotency-Key": "1"},  # a naive app's key, the same for both
                )
            )

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["tracking_id"] != answers[1].json()["tracking_id"]


async def test_request_without_gateway_identity_is_refused(runtime: Runtime) -> None:
    app = create_app(runtime.settings)
    app.state.runtime = runtime
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
    ) as client:
        refused = await client.post("/api/v1/complaints", json=complaint_payload())
        forged = await client.get(
            "/api/v1/categories", headers={"X-Aduan-Identity": "v1.1.e30.deadbeef"}
        )
        health = await client.get("/healthz")

    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"
    assert forged.status_code == 401
    assert health.status_code == 200


async def test_categories_are_named_by_language(client: httpx.AsyncClient) -> None:
    english = await client.get("/api/v1/categories", headers={"Accept-Language": "en"})
    indonesian = await client.get("/api/v1/categories")

    assert {"code": "kesehatan", "name": "Health"} in english.json()
    assert {"code": "kesehatan", "name": "Kesehatan"} in indonesian.json()
    assert len(english.json()) == 9


async def test_database_down_is_a_retryable_503_not_a_500(runtime: Runtime) -> None:
    down = runtime.settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none"}
    )
    engine = create_engine(down)
    dead = Runtime(down, engine, create_sessionmaker(engine), runtime.redis, runtime.publisher)
    try:
        async with service_client(create_app(down), dead) as client:
            response = await client.post("/api/v1/complaints", json=complaint_payload())
    finally:
        await engine.dispose()

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "service_unavailable"


async def test_housekeeping_forgets_idempotency_keys_after_a_day(
    runtime: Runtime, session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    for key, age in (("fresh", timedelta(hours=23)), ("stale", timedelta(hours=25))):
        session.add(
            IdempotencyRecord(
                principal="anonymous:housekeeping",
                key=key,
                request_hash="0" * 64,
                status_code=201,
                response_body={},
                created_at=now - age,
            )
        )
    await session.flush()

    purged = await run_once(runtime, Chore("idempotency purge", 600, purge_idempotency_records))

    assert purged >= 1
    session.expunge_all()  # read what the database holds now
    assert await session.get(IdempotencyRecord, ("anonymous:housekeeping", "stale")) is None
    assert await session.get(IdempotencyRecord, ("anonymous:housekeeping", "fresh")) is not None


@pytest.mark.parametrize("value", [0, 1, "true", "no"])
async def test_privacy_flags_are_booleans_not_anything_truthy(
    client: httpx.AsyncClient, value: object
) -> None:
    response = await client.post("/api/v1/complaints", json=complaint_payload(confidential=value))

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/confidential"
