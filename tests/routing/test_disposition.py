"""The disposition engine ("no wrong door") and its dry-run: rules by region prefix, report type
and priority, down to the office, falling back upward; the reporter's target agency when it
covers the region; the next candidate for a return; the dry-run names its rule."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.disposition.engine import DispositionEngine
from routing.disposition.repository import clear_caches
from routing.main import create_app
from services.models import Agency
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_complaint, add_rule, agency_id

ADMIN = Principal(kind=PrincipalKind.user, role=Role.admin, subject="admin")
OPS = Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="ops")


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Rules and agencies are cached per process; each test writes its own (rolled back)."""
    clear_caches()
    yield
    clear_caches()


async def codes(session: AsyncSession, **complaint: object) -> list[str]:
    decision = await DispositionEngine(session).decide(
        report_type=str(complaint.get("report_type", "pengaduan")),
        category_code=str(complaint.get("category", "infrastruktur")),
        region_code=str(complaint.get("region_code", "11.01.01")),
        target_agency_id=complaint.get("target_agency_id"),  # type: ignore[arg-type]
    )
    return [c.agency.code for c in decision.candidates]


async def test_the_default_rules_send_a_complaint_to_the_office_of_its_kabupaten(
    session: AsyncSession,
) -> None:
    complaint = await add_complaint(session, region_code="11.01.01.2001", category="kesehatan")

    decision = await DispositionEngine(session).choose(complaint)

    assert decision.agency.code == "pemda-11.01.dinas-kesehatan"
    assert decision.chosen_by == "rule"
    assert decision.rule is not None
    assert (decision.rule.target_level, decision.rule.office_type) == ("opd", "dinas_kesehatan")
    assert [c.agency.code for c in decision.candidates] == [
        "pemda-11.01.dinas-kesehatan",
        "pemda-11.01",
        "pemprov-11",
        "kemenkes",
        "kemendagri",
    ]


async def test_a_province_level_complaint_goes_to_the_provinces_office(
    session: AsyncSession,
) -> None:
    assert (await codes(session, region_code="34"))[:2] == ["pemprov-34.dinas-pupr", "pemprov-34"]


async def test_the_most_specific_region_prefix_wins_before_priority(session: AsyncSession) -> None:
    province = await agency_id(session, "pemprov-11")
    await add_rule(
        session, "infrastruktur", "agency", agency_id=province, region_prefix="11.01", priority=900
    )
    await add_rule(session, "infrastruktur", "regency", region_prefix="11", priority=500)

    assert (await codes(session, region_code="11.01.01"))[:3] == [
        "pemprov-11",
        "pemda-11.01",
        "pemda-11.01.dinas-pupr",
    ]
    # Outside the prefix the rule does not apply; "11" still does.
    assert (await codes(session, region_code="11.02"))[:2] == [
        "pemda-11.02",
        "pemda-11.02.dinas-pupr",
    ]
    assert (await codes(session, region_code="32.01"))[0] == "pemda-32.01.dinas-pupr"


async def test_a_rule_for_the_report_type_comes_before_one_for_every_type(
    session: AsyncSession,
) -> None:
    await add_rule(session, "infrastruktur", "ministry", report_type="aspirasi", priority=150)

    assert (await codes(session, report_type="aspirasi"))[0] == "kemenpu"
    assert (await codes(session, report_type="pengaduan"))[0] == "pemda-11.01.dinas-pupr"


async def test_priority_orders_rules_of_the_same_specificity(session: AsyncSession) -> None:
    await add_rule(session, "infrastruktur", "province", priority=10, description="provinsi dulu")

    complaint = await add_complaint(session)
    decision = await DispositionEngine(session).choose(complaint)

    assert decision.agency.code == "pemprov-11"
    assert decision.rule is not None and decision.rule.description == "provinsi dulu"
    assert "provinsi dulu" in decision.reason


async def test_a_missing_or_inactive_office_falls_back_upward(session: AsyncSession) -> None:
    office = await session.scalar(select(Agency).where(Agency.code == "pemda-11.01.dinas-pupr"))
    assert office is not None
    office.active = False
    await session.flush()
    complaint = await add_complaint(session)

    decision = await DispositionEngine(session).choose(complaint)

    assert decision.agency.code == "pemda-11.01"
    assert decision.rule is not None and decision.rule.target_level == "opd"


async def test_the_reporters_target_agency_is_honoured_only_when_it_covers_the_region(
    session: AsyncSession,
) -> None:
    covering = await agency_id(session, "pemda-11.01.dinas-kesehatan")
    elsewhere = await agency_id(session, "pemda-32.01")
    ministry = await agency_id(session, "kemensos")

    assert (await codes(session, target_agency_id=covering))[0] == "pemda-11.01.dinas-kesehatan"
    assert (await codes(session, target_agency_id=ministry))[0] == "kemensos"  # national scope
    assert (await codes(session, target_agency_id=elsewhere))[0] == "pemda-11.01.dinas-pupr"
    complaint = await add_complaint(session, target_agency_id=covering)
    decision = await DispositionEngine(session).choose(complaint)
    assert (decision.agency.code, decision.chosen_by, decision.rule) == (
        "pemda-11.01.dinas-kesehatan",
        "target_agency",
        None,
    )


async def test_a_return_asks_for_the_next_candidate(session: AsyncSession) -> None:
    complaint = await add_complaint(session)
    office = await agency_id(session, "pemda-11.01.dinas-pupr")
    regency = await agency_id(session, "pemda-11.01")

    first = await DispositionEngine(session).choose(complaint, exclude_agency_ids=[office])
    second = await DispositionEngine(session).choose(
        complaint, exclude_agency_ids=[office, regency]
    )

    assert (first.agency.code, first.chosen_by) == ("pemda-11.01", "rule")
    assert first.rule is not None and first.rule.target_level == "regency"
    assert (second.agency.code, second.chosen_by) == ("pemprov-11", "default")


async def test_lainnya_goes_to_the_kabupaten_government(session: AsyncSession) -> None:
    assert (await codes(session, category="lainnya"))[0] == "pemda-11.01"


def dry_run(runtime: Runtime, principal: Principal) -> httpx.AsyncClient:
    return service_client(create_app(runtime.settings), runtime, principal)


async def test_the_dry_run_names_the_agency_the_rule_and_the_other_candidates(
    runtime: Runtime, session: AsyncSession
) -> None:
    async with dry_run(runtime, ADMIN) as client:
        response = await client.post(
            "/api/v1/routing/dry-run",
            json={"report_type": "pengaduan", "category": "pendidikan", "region_code": "91.03"},
        )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agency"]["code"] == "pemda-91.03.dinas-pendidikan"
    assert body["chosen_by"] == "rule"
    assert body["rule"]["target_level"] == "opd"
    assert body["rule"]["office_type"] == "dinas_pendidikan"
    assert body["rule"]["description"]
    assert [c["agency"]["code"] for c in body["candidates"]][:3] == [
        "pemda-91.03.dinas-pendidikan",
        "pemda-91.03",
        "pemprov-91",
    ]
    assert body["candidates"][2] == {
        "agency": body["candidates"][2]["agency"],
        "rule": None,
        "chosen_by": "default",
    }


async def test_the_dry_run_honours_a_target_agency_and_writes_nothing(
    runtime: Runtime, session: AsyncSession
) -> None:
    target = await agency_id(session, "pemprov-11.inspektorat")
    async with dry_run(runtime, OPS) as client:
        response = await client.post(
            "/api/v1/routing/dry-run",
            json={
                "category": "korupsi_pungli",
                "region_code": "11.01.01",
                "target_agency_id": str(target),
            },
        )

    assert response.status_code == 200, response.text
    assert (response.json()["agency"]["code"], response.json()["chosen_by"]) == (
        "pemprov-11.inspektorat",
        "target_agency",
    )


@pytest.mark.parametrize(
    ("principal", "status"),
    [
        (ANONYMOUS, 401),
        (Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(uuid.uuid4())), 403),
        (Principal(kind=PrincipalKind.user, role=Role.liaison, subject="l"), 403),
        (Principal(kind=PrincipalKind.user, role=Role.coordinator, subject="c"), 200),
    ],
    ids=["anonymous", "citizen", "liaison", "coordinator"],
)
async def test_the_dry_run_is_for_admins_coordinators_and_ops(
    runtime: Runtime, principal: Principal, status: int
) -> None:
    async with dry_run(runtime, principal) as client:
        response = await client.post(
            "/api/v1/routing/dry-run", json={"category": "infrastruktur", "region_code": "11.01"}
        )

    assert response.status_code == status, response.text


async def test_the_dry_run_refuses_an_unknown_category(runtime: Runtime) -> None:
    async with dry_run(runtime, ADMIN) as client:
        response = await client.post(
            "/api/v1/routing/dry-run", json={"category": "sihir", "region_code": "11.01"}
        )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/category"


async def test_the_dry_run_refuses_an_unknown_region(runtime: Runtime) -> None:
    async with dry_run(runtime, ADMIN) as client:
        response = await client.post(
            "/api/v1/routing/dry-run", json={"category": "infrastruktur", "region_code": "99.99"}
        )

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/region_code"
