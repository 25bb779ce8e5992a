"""The agency directory, in-process against the seeded database."""

from collections.abc import AsyncIterator

import httpx
import pytest

from routing.main import create_app
from services.runtime import Runtime
from tests.conftest import service_client


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


async def test_a_province_lists_its_government_and_its_kabupaten_kota(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/agencies", params={"region_code": "34", "limit": 200})

    assert response.status_code == 200
    items = response.json()["items"]
    names = [a["name"] for a in items if a["kind"] != "opd"]
    assert "Pemerintah Provinsi Daerah Istimewa Yogyakarta" in names
    assert "Pemerintah Kota Yogyakarta" in names
    assert len(names) == 1 + 5  # the province and its four kabupaten and one kota
    assert len(items) - len(names) == 6 * 8  # and each one's eight offices
    assert response.json()["next_cursor"] is None


async def test_pages_follow_the_cursor_without_gaps_or_repeats(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"kind": "province", "limit": 15} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/agencies", params=params)).json()
        seen += [a["code"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 38
    assert seen == sorted(seen)


async def test_one_agency_and_its_parent(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/api/v1/agencies", params={"region_code": "11.01"})).json()
    regency = next(a for a in listed["items"] if a["code"] == "pemda-11.01")

    got = await client.get(f"/api/v1/agencies/{regency['id']}")
    parent = await client.get(f"/api/v1/agencies/{regency['parent_id']}")

    assert got.json() == regency
    assert parent.json()["code"] == "pemprov-11"


async def test_bad_cursor_limit_and_unknown_agency_are_problems(client: httpx.AsyncClient) -> None:
    bad_limit = await client.get("/api/v1/agencies", params={"limit": 0})
    bad_cursor = await client.get("/api/v1/agencies", params={"cursor": "%%%"})
    missing = await client.get("/api/v1/agencies/00000000-0000-0000-0000-000000000000")

    assert bad_limit.status_code == 422 and bad_limit.json()["errors"][0]["pointer"] == "/limit"
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["code"] == "invalid_cursor"
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
