"""The directory's admin routes (agencies, categories' policy, disposition rules) and the public
agency directory's new fields, in-process against the seeded database."""

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from routing.directory.codes import agency_id
from routing.main import create_app
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client

ADMIN = Principal(kind=PrincipalKind.user, role=Role.admin, subject="admin")
Client = Callable[[Principal], httpx.AsyncClient]


@pytest.fixture
async def client_for(runtime: Runtime) -> AsyncIterator[Client]:
    app = create_app(runtime.settings)
    opened: list[httpx.AsyncClient] = []

    def make(principal: Principal) -> httpx.AsyncClient:
        opened.append(service_client(app, runtime, principal))
        return opened[-1]

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
def admin(client_for: Client) -> httpx.AsyncClient:
    return client_for(ADMIN)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# --- the public directory shows the new fields ----------------------------------------------


async def test_the_directory_shows_an_offices_type_parent_contacts_and_zone(
    admin: httpx.AsyncClient, client_for: Client
) -> None:
    public = client_for(ANONYMOUS)
    office = agency_id("pemda-91.71.dinas-kesehatan")

    got = await public.get(f"/api/v1/agencies/{office}")

    assert got.status_code == 200, got.text
    assert got.json() == {
        "id": str(office),
        "code": "pemda-91.71.dinas-kesehatan",
        "name": "Dinas Kesehatan Kota Jayapura",
        "kind": "opd",
        "region_code": "91.71",
        "parent_id": str(agency_id("pemda-91.71")),
        "timezone": "Asia/Jayapura",
        "office_type": "dinas_kesehatan",
        "contacts": {"email": None, "phone": None, "website": None, "address": None},
        "active": True,
    }
    listed = await public.get(
        "/api/v1/agencies",
        params={"parent_id": str(agency_id("pemda-91.71")), "office_type": "dinas_kesehatan"},
    )
    assert [a["code"] for a in listed.json()["items"]] == ["pemda-91.71.dinas-kesehatan"]
    offices = await public.get(
        "/api/v1/agencies", params={"region_code": "11.01", "kind": "opd", "limit": 200}
    )
    assert len(offices.json()["items"]) == 8


# --- agencies -----------------------------------------------------------------------------------


async def test_an_admin_creates_edits_and_deactivates_an_office(admin: httpx.AsyncClient) -> None:
    code = unique("pemda-11.01.dinas-perhubungan-")
    created = await admin.post(
        "/api/v1/agencies",
        json={
            "code": code,
            "name": "Dinas Perhubungan Kabupaten Aceh Selatan",
            "kind": "opd",
            "region_code": "11.01",
            "parent_id": str(agency_id("pemda-11.01")),
            "office_type": "dinas_perhubungan",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == str(agency_id(code))
    assert body["timezone"] == "Asia/Jakarta" and body["active"] is True

    edited = await admin.patch(
        f"/api/v1/agencies/{body['id']}",
        json={"contacts": {"email": "dishub@acehselatankab.go.id", "phone": "+62656123456"}},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["contacts"]["email"] == "dishub@acehselatankab.go.id"
    assert edited.json()["name"] == "Dinas Perhubungan Kabupaten Aceh Selatan"

    deactivated = await admin.post(f"/api/v1/agencies/{body['id']}/deactivate")
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    again = await admin.post(f"/api/v1/agencies/{body['id']}/deactivate")
    assert again.status_code == 200 and again.json()["active"] is False
    back = await admin.patch(f"/api/v1/agencies/{body['id']}", json={"active": True})
    assert back.json()["active"] is True

    taken = await admin.post(
        "/api/v1/agencies", json={"code": code, "name": "Lagi", "kind": "ministry"}
    )
    assert taken.status_code == 409
    assert taken.headers["content-type"] == "application/problem+json"


async def test_a_wits_province_office_gets_its_zone_by_default(admin: httpx.AsyncClient) -> None:
    created = await admin.post(
        "/api/v1/agencies",
        json={
            "code": unique("pemprov-91.dinas-kelautan-"),
            "name": "Dinas Kelautan Provinsi Papua",
            "kind": "opd",
            "region_code": "91",
            "parent_id": str(agency_id("pemprov-91")),
            "office_type": "dinas_kelautan",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["timezone"] == "Asia/Jayapura"


@pytest.mark.parametrize(
    ("body", "pointer", "code"),
    [
        ({"code": "Bad Code", "name": "X Y", "kind": "ministry"}, "/code", None),
        ({"code": "kemen-x", "name": "X Y", "kind": "dinas"}, "/kind", None),
        ({"code": "pemda-x", "name": "X Y", "kind": "regency"}, "/region_code", "missing"),
        (
            {"code": "pemda-x", "name": "X Y", "kind": "regency", "region_code": "99.99"},
            "/region_code",
            "unknown_region",
        ),
        (
            {"code": "pemda-x.y", "name": "X Y", "kind": "opd", "region_code": "11.01"},
            "/office_type",
            "missing",
        ),
        (
            {"code": "kemen-x", "name": "X Y", "kind": "ministry", "parent_id": str(uuid.uuid4())},
            "/parent_id",
            "unknown_agency",
        ),
        (
            {"code": "kemen-x", "name": "X Y", "kind": "ministry", "timezone": "Europe/Paris"},
            "/timezone",
            None,
        ),
        (
            {"code": "kemen-x", "name": "X Y", "kind": "ministry", "contacts": {"fax": "1"}},
            "/contacts/fax",
            None,
        ),
    ],
)
async def test_an_invalid_agency_is_a_field_problem(
    admin: httpx.AsyncClient, body: dict[str, object], pointer: str, code: str | None
) -> None:
    response = await admin.post("/api/v1/agencies", json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert pointer in [e["pointer"] for e in errors], errors
    if code:
        assert code in [e["code"] for e in errors]


async def test_an_agency_cannot_sit_below_its_own_office(admin: httpx.AsyncClient) -> None:
    government = agency_id("pemda-11.01")

    response = await admin.patch(
        f"/api/v1/agencies/{government}",
        json={"parent_id": str(agency_id("pemda-11.01.dinas-pupr"))},
    )
    unknown = await admin.patch(f"/api/v1/agencies/{uuid.uuid4()}", json={"active": False})

    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "pointer": "/parent_id",
        "code": "agency_cycle",
        "message": "Instansi tidak dapat berada di bawah dirinya sendiri atau kantornya",
    }
    assert unknown.status_code == 404


# --- categories ---------------------------------------------------------------------------------


async def test_an_admin_lists_creates_and_edits_categories_with_their_policy(
    admin: httpx.AsyncClient,
) -> None:
    listed = await admin.get("/api/v1/directory/categories")
    assert listed.status_code == 200, listed.text
    by_code = {c["code"]: c for c in listed.json()["items"]}
    assert by_code["korupsi_pungli"]["verification"] == "manual"
    assert by_code["infrastruktur"]["office_type"] == "dinas_pupr"

    code = unique("transportasi_")
    created = await admin.post(
        "/api/v1/directory/categories",
        json={
            "code": code,
            "name_id": "Transportasi",
            "name_en": "Transport",
            "office_type": "dinas_perhubungan",
            "ministry_code": "kemendagri",
            "keywords": ["Angkutan", "perhubungan", "terminal", "terminal"],
            "completion_days": 10,
        },
    )
    assert created.status_code == 201, created.text
    # Stored stemmed and once each, as the classifier compares stems.
    assert created.json()["keywords"] == ["angkut", "hubung", "terminal"]
    assert created.json()["verification"] == "auto"

    edited = await admin.patch(
        f"/api/v1/directory/categories/{code}",
        json={"verification": "manual", "completion_days": None, "active": False},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["verification"] == "manual"
    assert edited.json()["completion_days"] is None and edited.json()["active"] is False
    assert edited.json()["office_type"] == "dinas_perhubungan"

    taken = await admin.post(
        "/api/v1/directory/categories", json={"code": code, "name_id": "X Y", "name_en": "X Y"}
    )
    assert taken.status_code == 409
    missing = await admin.patch("/api/v1/directory/categories/tidak_ada", json={"active": True})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"code": "Bad-Code", "name_id": "X Y", "name_en": "X Y"}, "/code"),
        (
            {"code": "ok_code", "name_id": "X Y", "name_en": "X Y", "verification": "x"},
            "/verification",
        ),
        (
            {"code": "ok_code", "name_id": "X Y", "name_en": "X Y", "keywords": ["a b"]},
            "/keywords/0",
        ),
        (
            {"code": "ok_code", "name_id": "X Y", "name_en": "X Y", "completion_days": 0},
            "/completion_days",
        ),
        (
            {"code": "ok_code", "name_id": "X Y", "name_en": "X Y", "ministry_code": "pemda-11.01"},
            "/ministry_code",
        ),
    ],
)
async def test_an_invalid_category_is_a_field_problem(
    admin: httpx.AsyncClient, body: dict[str, object], pointer: str
) -> None:
    response = await admin.post("/api/v1/directory/categories", json=body)

    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


# --- rules --------------------------------------------------------------------------------------


async def test_an_admin_manages_disposition_rules(admin: httpx.AsyncClient) -> None:
    defaults = await admin.get("/api/v1/directory/rules", params={"category": "infrastruktur"})
    assert defaults.status_code == 200, defaults.text
    assert [(r["target_level"], r["priority"]) for r in defaults.json()["items"]] == [
        ("opd", 100),
        ("regency", 200),
    ]

    created = await admin.post(
        "/api/v1/directory/rules",
        json={
            "category_code": "infrastruktur",
            "region_prefix": "31",
            "target_level": "province",
            "priority": 50,
            "description": "DKI Jakarta: jalan ditangani Pemprov",
        },
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["region_prefix"] == "31" and rule["active"] is True

    edited = await admin.patch(f"/api/v1/directory/rules/{rule['id']}", json={"active": False})
    assert edited.status_code == 200 and edited.json()["active"] is False
    assert edited.json()["priority"] == 50

    to_office = await admin.patch(
        f"/api/v1/directory/rules/{rule['id']}", json={"target_level": "opd"}
    )
    assert to_office.status_code == 422
    assert to_office.json()["errors"][0]["pointer"] == "/office_type"

    deleted = await admin.delete(f"/api/v1/directory/rules/{rule['id']}")
    assert deleted.status_code == 204
    again = await admin.delete(f"/api/v1/directory/rules/{rule['id']}")
    assert again.status_code == 404


async def test_rules_page_by_category_then_priority(admin: httpx.AsyncClient) -> None:
    seen: list[tuple[str, int, str]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await admin.get("/api/v1/directory/rules", params=params)).json()
        seen += [(r["category_code"], r["priority"], r["id"]) for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len({s[2] for s in seen}) >= 17
    assert seen == sorted(seen)
    bad = await admin.get("/api/v1/directory/rules", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("body", "pointer", "code"),
    [
        (
            {"category_code": "tidak_ada", "target_level": "regency"},
            "/category_code",
            "unknown_category",
        ),
        ({"category_code": "kesehatan", "target_level": "opd"}, "/office_type", "missing"),
        ({"category_code": "kesehatan", "target_level": "agency"}, "/agency_id", "missing"),
        ({"category_code": "lainnya", "target_level": "ministry"}, "/agency_id", "missing"),
        (
            {
                "category_code": "kesehatan",
                "target_level": "agency",
                "agency_id": str(uuid.uuid4()),
            },
            "/agency_id",
            "unknown_agency",
        ),
        (
            {"category_code": "kesehatan", "target_level": "regency", "region_prefix": "99"},
            "/region_prefix",
            "unknown_region",
        ),
        ({"category_code": "kesehatan", "target_level": "kecamatan"}, "/target_level", None),
        (
            {"category_code": "kesehatan", "target_level": "regency", "report_type": "x"},
            "/report_type",
            None,
        ),
    ],
)
async def test_an_invalid_rule_is_a_field_problem(
    admin: httpx.AsyncClient, body: dict[str, object], pointer: str, code: str | None
) -> None:
    response = await admin.post("/api/v1/directory/rules", json=body)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert pointer in [e["pointer"] for e in errors], errors
    if code:
        assert code in [e["code"] for e in errors]


# --- who may --------------------------------------------------------------------------------------

ADMIN_OPERATIONS = [
    ("POST", "/api/v1/agencies", {"code": "kemen-x", "name": "X Y", "kind": "ministry"}),
    ("PATCH", f"/api/v1/agencies/{agency_id('pemda-11.01')}", {"active": False}),
    ("POST", f"/api/v1/agencies/{agency_id('pemda-11.01')}/deactivate", None),
    ("GET", "/api/v1/directory/categories", None),
    ("POST", "/api/v1/directory/categories", {"code": "x_y", "name_id": "X Y", "name_en": "X Y"}),
    ("PATCH", "/api/v1/directory/categories/lainnya", {"active": False}),
    ("GET", "/api/v1/directory/rules", None),
    ("POST", "/api/v1/directory/rules", {"category_code": "lainnya", "target_level": "regency"}),
    ("PATCH", f"/api/v1/directory/rules/{uuid.uuid4()}", {"active": False}),
    ("DELETE", f"/api/v1/directory/rules/{uuid.uuid4()}", None),
]
OFFICE = agency_id("pemda-11.01")
NOT_ADMINS = [
    Principal(kind=PrincipalKind.user, role=Role.citizen, subject="c"),
    Principal(
        kind=PrincipalKind.user,
        role=Role.coordinator,
        subject="k",
        agency_id=OFFICE,
        agency_ids=(OFFICE,),
    ),
    Principal(kind=PrincipalKind.user, role=Role.liaison, subject="l", agency_id=OFFICE),
    Principal(kind=PrincipalKind.api_key, role=Role.agency, subject="a", agency_id=OFFICE),
    Principal(kind=PrincipalKind.api_key, role=Role.regional_system, subject="r"),
    Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="o"),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_OPERATIONS)
async def test_only_national_admins_manage_the_directory(
    client_for: Client, method: str, path: str, body: dict[str, object] | None
) -> None:
    for principal in NOT_ADMINS:
        response = await client_for(principal).request(method, path, json=body)
        assert response.status_code == 403, (principal.role, response.text)
        assert response.json()["code"] == "forbidden"
    anonymous = await client_for(ANONYMOUS).request(method, path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
