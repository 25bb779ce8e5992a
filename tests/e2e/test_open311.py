"""Open311 GeoReport v2 through the real gateway and services, as a civic-tech client written
from the spec uses it (http://wiki.open311.org/GeoReport_v2): discovery, services, a
form-encoded POST with its api_key, the request read back by id and by filters, the token
lookup; a request without a region until an admin sets one; and the invalid requests, each
answered with the spec's error list and writing nothing."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.db import create_sessionmaker
from services.models import Complaint, Open311Request
from services.settings import Settings
from tests.e2e.platform import Platform
from tests.factories import add_api_key, agency_id

pytestmark = pytest.mark.e2e

V2 = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
DESCRIPTION = (
    "Lampu jalan di depan Pasar Bakongan mati sejak dua minggu, jalan gelap dan rawan "
    "kecelakaan pada malam hari."
)


async def in_database(settings: Settings, work: Callable[[AsyncSession], Any]) -> Any:
    engine = create_async_engine(settings.require_database_url())
    try:
        async with create_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def new_key(settings: Settings, role: str, **fields: Any) -> str:
    async def add(session: AsyncSession) -> str:
        if "agency" in fields:
            fields["agency_id"] = await agency_id(session, fields.pop("agency"))
        _key, secret = await add_api_key(session, role=role, **fields)
        return secret

    result: str = await in_database(settings, add)
    return result


async def written(settings: Settings) -> tuple[int, int]:
    """How many complaints and Open311 requests there are."""

    async def count(session: AsyncSession) -> tuple[int, int]:
        complaints = await session.scalar(select(func.count()).select_from(Complaint))
        requests = await session.scalar(select(func.count()).select_from(Open311Request))
        return int(complaints or 0), int(requests or 0)

    result: tuple[int, int] = await in_database(settings, count)
    return result


async def poll(
    client: httpx.AsyncClient, path: str, ready: Callable[[Any], bool], **kwargs: Any
) -> Any:
    deadline = time.monotonic() + 30
    body: Any = None
    while time.monotonic() < deadline:
        response = await client.get(path, **kwargs)
        body = response.json()
        if response.status_code == 200 and ready(body):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path} not ready after 30 s: {body}")


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=30) as client:
        yield client


def admin(settings: Settings) -> dict[str, str]:
    assert settings.admin_api_key is not None
    return {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"}


async def test_an_open311_client_files_and_tracks_a_request(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    api_key = await new_key(settings, "regional_system", region_codes=["11"])

    discovery = (await client.get(f"{V2}/discovery.json")).json()
    [endpoint] = discovery["endpoints"]
    assert endpoint["specification"] == SPEC
    assert "application/json" in endpoint["formats"]

    services = (await client.get(f"{V2}/services.json", params={"api_key": api_key})).json()
    service = next(s for s in services if s["service_code"] == "infrastruktur")
    assert service["metadata"] is True
    definition = (await client.get(f"{V2}/services/infrastruktur.json")).json()
    assert "region_code" in {a["code"] for a in definition["attributes"]}

    before = datetime.now(UTC) - timedelta(minutes=1)
    posted = await client.post(
        f"{V2}/requests.json",
        data={
            "api_key": api_key,
            "service_code": "infrastruktur",
            "lat": "-3.215",
            "long": "97.43",
            "address_string": "Jl. Pasar Bakongan",
            "attribute[region_code]": "11.01.01",
            "description": DESCRIPTION,
            "email": "siti@example.id",
            "first_name": "Siti",
            "last_name": "Aminah",
            "phone": "+6281234567890",
            "media_url": "https://img.example.id/lampu.jpg",
        },
    )
    assert posted.status_code == 200, posted.text
    assert posted.headers["content-type"] == "application/json"
    [created] = posted.json()
    request_id, token = created["service_request_id"], created["token"]

    # By id: open, dispositioned by the routing worker to the regency, the Aduan state noted.
    [request] = await poll(
        client,
        f"{V2}/requests/{request_id}.json",
        lambda body: body[0]["agency_responsible"] is not None,
        params={"api_key": api_key},
    )
    assert request["service_request_id"] == request_id
    assert request["status"] == "open"
    assert request["status_notes"].startswith("dispositioned")
    assert "Aceh Selatan" in request["agency_responsible"]
    assert request["service_code"] == "infrastruktur"
    assert request["description"] == DESCRIPTION
    assert request["address"] == "Jl. Pasar Bakongan"
    assert request["address_id"] == "11.01.01"
    assert (request["lat"], request["long"]) == (-3.215, 97.43)
    assert request["media_url"] == "https://img.example.id/lampu.jpg"

    # By filters, as a client polls for updates.
    window = {
        "start_date": before.isoformat(),
        "end_date": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    open_ones = await client.get(
        f"{V2}/requests.json",
        params={"service_code": "infrastruktur", "status": "open", **window},
    )
    closed_ones = await client.get(
        f"{V2}/requests.json",
        params={"service_code": "infrastruktur", "status": "closed", **window},
    )
    other_service = await client.get(
        f"{V2}/requests.json", params={"service_code": "kesehatan", **window}
    )
    by_ids = await client.get(f"{V2}/requests.json", params={"service_request_id": request_id})
    assert request_id in {r["service_request_id"] for r in open_ones.json()}
    assert request_id not in {r["service_request_id"] for r in closed_ones.json()}
    assert request_id not in {r["service_request_id"] for r in other_service.json()}
    assert [r["service_request_id"] for r in by_ids.json()] == [request_id]

    # The token flow.
    tokens = await client.get(f"{V2}/tokens/{token}.json")
    assert tokens.status_code == 200
    assert tokens.json() == [{"service_request_id": request_id, "token": token}]

    # Filed by the key's system, through the open311 channel; the JSON API tracks it too.
    async def filer(session: AsyncSession) -> str:
        complaint = await session.scalar(
            select(Complaint).where(Complaint.tracking_id == request_id)
        )
        assert complaint is not None
        return f"{complaint.channel} {complaint.submitted_by}"

    assert (await in_database(settings, filer)).startswith("open311 regional_system:")
    tracked = await client.get(f"/api/v1/complaints/{request_id}")
    assert tracked.json()["region_code"] == "11.01.01"


async def test_a_request_without_a_region_waits_until_an_admin_sets_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    posted = await client.post(
        f"{V2}/requests.json",
        data={
            "service_code": "infrastruktur",
            "lat": "-6.2",
            "long": "106.8166",
            "description": DESCRIPTION,
        },
    )
    assert posted.status_code == 200, posted.text
    request_id = posted.json()[0]["service_request_id"]

    queue = await poll(
        client,
        "/api/v1/verification/complaints",
        lambda body: request_id in {i["tracking_id"] for i in body["items"]},
        params={"reason": "region_missing", "limit": 200},
        headers=admin(settings),
    )
    item = next(i for i in queue["items"] if i["tracking_id"] == request_id)
    assert item["reasons"] == ["region_missing"] and item["region_code"] is None
    [waiting] = (await client.get(f"{V2}/requests/{request_id}.json")).json()
    assert waiting["address_id"] is None and waiting["agency_responsible"] is None

    set_region = await client.post(
        f"/api/v1/verification/complaints/{request_id}/region",
        json={"region_code": "31.71.01"},
        headers=admin(settings),
    )

    assert set_region.status_code == 200, set_region.text
    assert set_region.json()["status"] == "dispositioned"
    [routed] = (await client.get(f"{V2}/requests/{request_id}.json")).json()
    assert routed["address_id"] == "31.71.01"
    assert routed["agency_responsible"] is not None
    assert routed["status_notes"].startswith("dispositioned")


VALID: dict[str, str] = {
    "service_code": "infrastruktur",
    "address_id": "11.01.01",
    "description": DESCRIPTION,
}
# (name, fields changed (None removes one), expected status, the argument the error names)
INVALID: list[tuple[str, dict[str, str | None], int, str]] = [
    ("missing service_code", {"service_code": None}, 400, "service_code"),
    ("unknown service_code", {"service_code": "jalan_tol"}, 400, "service_code"),
    ("no location", {"address_id": None}, 400, "lat"),
    ("lat not a number", {"lat": "tiga", "long": "97.4"}, 400, "lat"),
    ("lat without long", {"lat": "-3.2"}, 400, "long"),
    ("a point in Paris", {"lat": "48.8566", "long": "2.3522"}, 400, "lat"),
    ("lat and long swapped", {"lat": "106.8", "long": "-6.2"}, 400, "lat"),
    ("lat infinite", {"lat": "Infinity", "long": "97.4"}, 400, "lat"),
    ("unknown address_id", {"address_id": "99.99.99"}, 400, "address_id"),
    ("address_id not a region code", {"address_id": "Jakarta"}, 400, "address_id"),
    (
        "attribute[region_code] disagreeing with address_id",
        {"attribute[region_code]": "32.01"},
        400,
        "attribute[region_code]",
    ),
    ("description missing", {"description": None}, 400, "description"),
    ("description too short", {"description": "Lampu mati."}, 400, "description"),
    ("description too long", {"description": "x" * 4001}, 400, "description"),
    ("bad email", {"email": "siti-at-example"}, 400, "email"),
    ("bad phone", {"phone": "call me"}, 400, "phone"),
    ("first_name too long", {"first_name": "S" * 101}, 400, "first_name"),
    ("address_string too long", {"address_string": "J" * 501}, 400, "address_string"),
    ("media_url not http", {"media_url": "ftp://img.example.id/a.jpg"}, 400, "media_url"),
    ("undeclared attribute", {"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ("bad attribute value", {"attribute[report_type]": "keluhan"}, 400, "report_type"),
    ("NUL in the description", {"description": DESCRIPTION + "\x00"}, 400, "description"),
]
# Bodies that are not a well-formed form: (name, content type, body, argument named)
MALFORMED: list[tuple[str, str, bytes, str]] = [
    (
        "a JSON body",
        "application/json",
        b'{"service_code": "infrastruktur"}',
        "request body",
    ),
    (
        "a field without =",
        "application/x-www-form-urlencoded",
        b"service_code=infrastruktur&description",
        "request body",
    ),
    (
        "not UTF-8",
        "application/x-www-form-urlencoded",
        b"service_code=infrastruktur&address_id=11.01&description=" + b"%ff%fe" * 20,
        "request body",
    ),
    (
        "a field sent twice",
        "application/x-www-form-urlencoded",
        b"service_code=infrastruktur&address_id=11.01&description=aaaaaaaaaaaaaaaaaaaaaaaa"
        b"&description=bbbbbbbbbbbbbbbbbbbbbbbbbb",
        "description",
    ),
]


def assert_spec_error(response: httpx.Response, status: int, argument: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    errors = response.json()
    assert isinstance(errors, list) and errors
    assert all(set(e) == {"code", "description"} and e["code"] == status for e in errors)
    assert any(argument in e["description"] for e in errors), errors


@pytest.mark.parametrize(
    ("changes", "status", "argument"),
    [pytest.param(c, s, a, id=name) for name, c, s, a in INVALID],
)
async def test_an_invalid_request_answers_the_spec_error_list_and_writes_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    changes: dict[str, str | None],
    status: int,
    argument: str,
) -> None:
    fields = {k: v for k, v in (VALID | changes).items() if v is not None}
    before = await written(settings)

    response = await client.post(f"{V2}/requests.json", data=fields)

    assert_spec_error(response, status, argument)
    assert await written(settings) == before


@pytest.mark.parametrize(
    ("content_type", "body", "argument"),
    [pytest.param(t, b, a, id=name) for name, t, b, a in MALFORMED],
)
async def test_a_malformed_form_answers_400_and_writes_nothing(
    client: httpx.AsyncClient, settings: Settings, content_type: str, body: bytes, argument: str
) -> None:
    before = await written(settings)

    response = await client.post(
        f"{V2}/requests.json", content=body, headers={"Content-Type": content_type}
    )

    assert_spec_error(response, 400, argument)
    assert await written(settings) == before


async def test_wrong_or_unfit_api_keys_answer_403_and_write_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    regional = await new_key(settings, "regional_system", region_codes=["11"])
    agency = await new_key(settings, "agency", agency="pemda-11.01")
    before = await written(settings)
    cases = {
        "unknown key": {"api_key": f"adn_{uuid.uuid4().hex[:8]}_{uuid.uuid4().hex}"},
        "malformed key": {"api_key": "adn_x"},
        "not a key at all": {"api_key": "hello"},
        "another region's request": {"api_key": regional, "address_id": "32.01"},
        "no region for a regional key": {
            "api_key": regional,
            "address_id": "",
            "lat": "-3.2",
            "long": "97.4",
        },
        "an agency's key": {"api_key": agency},
    }

    answers = {
        name: await client.post(f"{V2}/requests.json", data=VALID | fields)
        for name, fields in cases.items()
    }
    in_query = await client.post(
        f"{V2}/requests.json", data=VALID, params={"api_key": "adn_nope_nope"}
    )

    for name, response in answers.items():
        assert response.status_code == 403, (name, response.text)
        assert_spec_error(response, 403, "api_key")
    assert_spec_error(in_query, 403, "api_key")
    assert await written(settings) == before


@pytest.mark.parametrize(
    ("path", "params", "status", "argument"),
    [
        pytest.param("/services/jalan_tol.json", {}, 404, "service_code", id="unknown service"),
        pytest.param("/requests/ADN-00000000.json", {}, 404, "service_request_id", id="no such"),
        pytest.param("/tokens/nope.json", {}, 404, "token", id="unknown token"),
        pytest.param("/requests.json", {"start_date": "kemarin"}, 400, "start_date", id="date"),
        pytest.param("/requests.json", {"status": "pending"}, 400, "status", id="status"),
        pytest.param(
            "/requests.json",
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"},
            400,
            "start_date",
            id="more than 90 days",
        ),
        pytest.param("/requests.xml", {}, 404, "requests.xml", id="xml"),
        pytest.param("/requests.json", {"api_key": "hello"}, 403, "api_key", id="bad key"),
    ],
)
async def test_invalid_reads_answer_the_spec_error_list(
    client: httpx.AsyncClient, path: str, params: dict[str, str], status: int, argument: str
) -> None:
    response = await client.get(f"{V2}{path}", params=params)

    assert_spec_error(response, status, argument)
