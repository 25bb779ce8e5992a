"""Open311 GeoReport v2 in intake, in-process against the real database: what a client reads
(services, definitions, requests, tokens) and what filing through it stores."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.main import create_app
from services.models import Complaint, Event, Open311Request
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_complaint, add_open311_request, assign

BASE = "/open311/v2"
ADMIN = Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="admin-key")
DESCRIPTION = (
    "Lampu jalan di depan Pasar Bakongan mati sejak dua minggu, jalan gelap dan rawan "
    "kecelakaan pada malam hari."
)


def form(**overrides: str) -> dict[str, str]:
    fields = {
        "service_code": "infrastruktur",
        "address_id": "11.01.01",
        "lat": "-3.215",
        "long": "97.43",
        "description": DESCRIPTION,
        "first_name": "Siti",
        "last_name": "Aminah",
        "email": "siti@example.id",
        "phone": "0812-3456-7890",
        "media_url": "https://img.example.id/lampu.jpg",
    }
    return fields | overrides


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


@pytest.fixture
async def admin(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime, ADMIN) as client:
        yield client


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_services_are_the_categories_with_their_attributes(
    client: httpx.AsyncClient,
) -> None:
    services = await client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"})
    definition = await client.get(f"{BASE}/services/infrastruktur.json")
    unknown = await client.get(f"{BASE}/services/jalan-tol.json")

    assert services.status_code == 200
    by_code = {s["service_code"]: s for s in services.json()}
    assert by_code["infrastruktur"]["service_name"] == "Infrastructure"
    assert by_code["infrastruktur"]["metadata"] is True
    assert by_code["infrastruktur"]["type"] == "realtime"
    assert "jalan" in by_code["infrastruktur"]["keywords"]
    assert set(by_code["infrastruktur"]) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert definition.status_code == 200
    attributes = {a["code"]: a for a in definition.json()["attributes"]}
    assert attributes["region_code"]["datatype"] == "string"
    assert attributes["region_code"]["variable"] is True
    assert [v["key"] for v in attributes["report_type"]["values"]] == [
        "pengaduan",
        "aspirasi",
        "permintaan_informasi",
    ]
    assert unknown.status_code == 404
    assert unknown.json() == [{"code": 404, "description": "service_code: no service 'jalan-tol'"}]


async def test_a_request_is_filed_as_a_complaint_of_the_open311_channel(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(f"{BASE}/requests.json", data=form())

    assert response.status_code == 200, response.text
    [created] = response.json()
    complaint = await session.scalar(
        select(Complaint).where(Complaint.tracking_id == created["service_request_id"])
    )
    assert complaint is not None
    assert (complaint.channel, complaint.submitted_by) == ("open311", "anonymous:-")
    assert complaint.category_code == "infrastruktur"
    assert complaint.region_code == "11.01.01"
    assert complaint.report_type == "pengaduan"
    assert complaint.description == DESCRIPTION
    # No title in GeoReport: the description's first words, cut at a word.
    assert complaint.title.endswith("…") and len(complaint.title) <= 100
    assert DESCRIPTION.startswith(complaint.title.removesuffix("…"))
    assert complaint.reporter_name == "Siti Aminah"
    assert complaint.reporter_phone == "081234567890"
    assert str(complaint.latitude) == "-3.215000"
    request = await session.get(Open311Request, complaint.id)
    assert request is not None
    assert request.token == created["token"]
    assert request.media_url == "https://img.example.id/lampu.jpg"
    event = await session.scalar(select(Event).where(Event.complaint_id == complaint.id))
    assert event is not None and event.type == "complaint.submitted"


async def test_a_request_reads_back_in_geo_report_terms(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    [created] = (await client.post(f"{BASE}/requests.json", data=form())).json()
    request_id = created["service_request_id"]
    complaint = await session.scalar(select(Complaint).where(Complaint.tracking_id == request_id))
    assert complaint is not None
    await assign(session, complaint, "pemda-11.01")
    complaint.status = "dispositioned"
    await session.flush()

    response = await client.get(f"{BASE}/requests/{request_id.lower()}.json")

    assert response.status_code == 200, response.text
    [found] = response.json()
    assert found["service_request_id"] == request_id
    assert found["status"] == "open"
    assert found["status_notes"] == "dispositioned: Terdisposisi"
    assert found["service_code"] == "infrastruktur"
    assert found["service_name"] == "Infrastruktur"
    assert found["description"] == DESCRIPTION
    assert found["agency_responsible"] == "Pemerintah Kabupaten Aceh Selatan"
    assert found["address_id"] == "11.01.01"
    assert (found["lat"], found["long"]) == (-3.215, 97.43)
    assert found["media_url"] == "https://img.example.id/lampu.jpg"
    datetime.fromisoformat(found["requested_datetime"])
    # Nobody's identity is part of a GeoReport request.
    assert "siti@" not in response.text and "Aminah" not in response.text


async def test_closed_statuses_and_filters_select_the_requests(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    marker = uuid.uuid4().hex[:8]
    resolved = await add_complaint(session, status="resolved", category="kesehatan")
    open_one = await add_complaint(session, status="in_progress", category="kesehatan")
    other = await add_complaint(session, status="submitted", category="pendidikan")
    confidential = await add_complaint(session, category="kesehatan", confidential=True)
    ids = [c.tracking_id for c in (resolved, open_one, other, confidential)]
    del marker

    async def listed(**params: str) -> list[str]:
        response = await client.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json() if r["service_request_id"] in ids]

    assert await listed(service_code="kesehatan") == [open_one.tracking_id, resolved.tracking_id]
    assert await listed(service_code="kesehatan", status="closed") == [resolved.tracking_id]
    assert await listed(status="open", service_code="kesehatan,pendidikan") == [
        other.tracking_id,
        open_one.tracking_id,
    ]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await listed(start_date=tomorrow, end_date=tomorrow) == []
    # By id: the other arguments are ignored; a confidential one is found, its content withheld.
    by_id = await client.get(
        f"{BASE}/requests.json",
        params={
            "service_request_id": f"{resolved.tracking_id},{confidential.tracking_id}",
            "status": "open",
        },
    )
    found = {r["service_request_id"]: r for r in by_id.json()}
    assert set(found) == {resolved.tracking_id, confidential.tracking_id}
    assert found[resolved.tracking_id]["status"] == "closed"
    assert found[confidential.tracking_id]["description"] is None
    assert found[confidential.tracking_id]["lat"] is None


async def test_admins_see_a_confidential_request_and_the_public_does_not(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, session: AsyncSession
) -> None:
    complaint = await add_complaint(session, confidential=True)
    await add_open311_request(session, complaint, media_url="https://img.example.id/x.jpg")

    public = (await client.get(f"{BASE}/requests/{complaint.tracking_id}.json")).json()[0]
    admins = (await admin.get(f"{BASE}/requests/{complaint.tracking_id}.json")).json()[0]

    assert public["description"] is None and public["media_url"] is None
    assert admins["description"] == complaint.description
    assert admins["media_url"] == "https://img.example.id/x.jpg"


async def test_a_token_answers_its_request_id(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    complaint = await add_complaint(session)
    request = await add_open311_request(session, complaint)

    found = await client.get(f"{BASE}/tokens/{request.token}.json")
    unknown = await client.get(f"{BASE}/tokens/nope.json")

    assert found.json() == [{"service_request_id": complaint.tracking_id, "token": request.token}]
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404


async def test_a_request_with_coordinates_only_is_filed_without_a_region(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        f"{BASE}/requests.json",
        data=form(address_id="", address_string="Jl. Merdeka 1, dekat pasar"),
    )

    assert response.status_code == 200, response.text
    [created] = response.json()
    assert "Wilayah belum diketahui" in created["service_notice"]
    complaint = await session.scalar(
        select(Complaint).where(Complaint.tracking_id == created["service_request_id"])
    )
    assert complaint is not None and complaint.region_code is None
    # The JSON API shows it too, with no region yet.
    tracked = await client.get(f"/api/v1/complaints/{complaint.tracking_id}")
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["region_code"] is None


async def test_the_json_api_still_requires_a_region(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await count(session, Complaint)
    payload = {
        "report_type": "pengaduan",
        "title": "Jalan berlubang",
        "description": DESCRIPTION,
        "category": "infrastruktur",
        "region_code": None,
    }

    response = await client.post("/api/v1/complaints", json=payload)

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/region_code"
    assert await count(session, Complaint) == before


async def test_the_same_idempotency_key_replays_the_request_and_its_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await count(session, Open311Request)
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = await client.post(f"{BASE}/requests.json", data=form(), headers=headers)
    again = await client.post(f"{BASE}/requests.json", data=form(), headers=headers)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert await count(session, Open311Request) == before + 1


async def test_a_caller_whose_role_may_not_file_gets_the_spec_403(
    runtime: Runtime, session: AsyncSession
) -> None:
    ops = Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="ops-key")
    before = await count(session, Complaint)
    async with service_client(create_app(runtime.settings), runtime, ops) as c:
        response = await c.post(f"{BASE}/requests.json", data=form())

    assert response.status_code == 403
    assert response.json()[0]["code"] == 403
    assert await count(session, Complaint) == before
    assert ANONYMOUS.role is Role.anonymous


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/tokens/a%00b.json",
        f"{BASE}/requests/ADN-%00.json",
        f"{BASE}/requests.json?service_code=a%00b",
    ],
)
async def test_a_nul_character_in_an_argument_is_the_spec_400(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 400, response.text
    assert "NUL" in response.json()[0]["description"]


async def test_the_document_shows_the_spec_errors_not_problems(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    post = document["paths"][f"{BASE}/requests.json"]["post"]
    assert set(post["responses"]) == {"200", "400", "403", "409"}
    assert "application/json" in post["responses"]["400"]["content"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    by_id = document["paths"][f"{BASE}/requests/{{service_request_id}}.json"]["get"]
    assert set(by_id["responses"]) == {"200", "403", "404"}
