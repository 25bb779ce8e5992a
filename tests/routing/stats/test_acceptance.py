"""Acceptance 1 of the statistics: every measure computed by hand on a small fixed data set and
compared with the API, working days across Nyepi and Idul Fitri 2025 included; the grades and
their reasons likewise.

The calendar of March-April 2025 (Aceh and Jawa Barat count in WIB):
    Mon 24, Tue 25, Wed 26, Thu 27 Mar: working days
    Fri 28 Mar (cuti bersama Nyepi), Mon 31 Mar - Fri 4 Apr (Idul Fitri and cuti bersama),
    Mon 7 Apr (cuti bersama): not working days
    Tue 8 - Fri 11, Mon 14 - Thu 17 Apr: working days; Fri 18 Apr (Good Friday): not
    Mon 21 - Fri 25, Mon 28 - Wed 30 Apr: working days; Thu 1 May (Labour Day): not
"Days" below are the working days in [day of start, day of stop).

Complaints, all submitted Wed 26 Mar 2025 09:00 WIB:
  A 11.01.01 infrastruktur pengaduan citizen: verified Thu 27 10:00 (1 day, due end 9 Apr:
    met); dispositioned to pemda-11.01, delegated to its Dinas PUPR (not forwarding);
    follow-up 9 Apr 10:00 (27 Mar, 8 Apr: 2 days, due end 14 Apr: met); resolved 10 Apr
    12:00 (3 days, due end 28 Apr: met); one follow-up, first agency: first-contact
    resolution; rated 5.
  B 11.01.01 infrastruktur pengaduan anonymous: verified 9 Apr 15:00 (26, 27 Mar, 8 Apr:
    3 days, due end 9 Apr: met); dispositioned to pemprov-11 9 Apr 16:00, returned, then to
    pemda-11.01 10 Apr 12:00 (returned once, forwarded); escalated once; follow-up 24 Apr
    (10, 11, 14-17, 21-23 Apr: 9 days, due end 17 Apr: missed); resolved 25 Apr (10 days,
    due end 2 May: met); reopened and resolved again; rated 2.
  C 11.01.02 kesehatan aspirasi citizen: verified automatically (0 days, met);
    dispositioned to pemda-11.01 at once; in progress, no follow-up; first-response and
    completion clocks due end 11 Apr, still running: both missed, open and overdue.
  D 11.01.02 infrastruktur pengaduan citizen: on hold before verification (its clock
    paused): not counted anywhere, open, not overdue, no follow-up yet.
  E 11.01.01 infrastruktur pengaduan regional_system: archived 27 Mar (its verification
    clock stopped, never verified: not counted); outside the KemenPANRB shares.
  F 11.01.01 kesehatan permintaan_informasi citizen: verified 10 Apr 08:00 (26, 27 Mar, 8, 9
    Apr: 4 days, due end 9 Apr: missed); dispositioned to pemda-11.01 10 Apr 09:00; follow-ups
    11 Apr (1 day, due end 17 Apr: met) and 15 Apr; resolved 22 Apr (10, 11, 14-17, 21 Apr:
    7 days, due end 17 Apr: missed); rated 4.
  G 11.02.01 infrastruktur pengaduan citizen: verified automatically (0 days); pemda-11.02;
    follow-up Thu 27 Mar 09:00 (1 day, met); resolved 27 Mar 10:00 (1 day, met); rated 5.
  H 32.01.01 infrastruktur pengaduan citizen: verified automatically; pemda-32.01;
    follow-up 14 Apr 09:00 (26, 27 Mar, 8-11 Apr: 6 days, due end 11 Apr: missed); resolved
    14 Apr 10:00 (6 days, due end 25 Apr: met); rated 3.
"""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.main import create_app
from routing.stats.refresh import refresh
from services.models import Complaint, Region
from services.principal import Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import (
    add_assignment,
    add_complaint,
    add_timed_clock,
    add_timeline,
    agency_id,
)

OPS = Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="ops")
WIB = timedelta(hours=7)
PERIOD = {"from": "2025-03-24", "to": "2025-03-30"}


def wib(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC) - WIB


def end(month: int, day: int) -> datetime:
    """The last instant of a day in WIB (where a deadline falls)."""
    return datetime(2025, month, day, 23, 59, 59, 999999, tzinfo=UTC) - WIB


SUBMITTED = wib(3, 26)


async def complaint(session: AsyncSession, region: str, **fields: Any) -> Complaint:
    return await add_complaint(session, region_code=region, created_at=SUBMITTED, **fields)


async def verification(
    session: AsyncSession, c: Complaint, stopped: datetime | None, **fields: Any
) -> None:
    await add_timed_clock(
        session,
        c,
        "verification",
        started_at=SUBMITTED,
        due_at=end(4, 9),
        working_days=3,
        stopped_at=stopped,
        **fields,
    )


async def agency_clocks(
    session: AsyncSession,
    c: Complaint,
    agency: str,
    start: datetime,
    first_due: datetime,
    completion_due: datetime,
    first_stop: datetime | None,
    completion_stop: datetime | None,
) -> None:
    await add_timed_clock(
        session,
        c,
        "first_response",
        agency_code=agency,
        started_at=start,
        due_at=first_due,
        working_days=5,
        stopped_at=first_stop,
    )
    await add_timed_clock(
        session,
        c,
        "completion",
        agency_code=agency,
        started_at=start,
        due_at=completion_due,
        working_days=14,
        stopped_at=completion_stop,
    )


async def build(session: AsyncSession) -> None:
    # A
    a = await complaint(session, "11.01.01", status="resolved", channel="mobile")
    await verification(session, a, wib(3, 27, 10))
    parent = await add_assignment(
        session, a, "pemda-11.01", status="delegated", active=False, assigned_at=wib(3, 27, 11)
    )
    await add_assignment(
        session, a, "pemda-11.01.dinas-pupr", status="resolved", source_id=parent.id
    )
    await agency_clocks(
        session,
        a,
        "pemda-11.01.dinas-pupr",
        wib(3, 27, 11),
        end(4, 14),
        end(4, 28),
        wib(4, 9, 10),
        wib(4, 10, 12),
    )
    await add_timeline(
        session,
        a,
        [
            ("complaint.submitted", SUBMITTED, {}),
            ("complaint.verified", wib(3, 27, 10), {}),
            ("complaint.dispositioned", wib(3, 27, 11), {}),
            ("complaint.delegated", wib(3, 27, 12), {}),
            ("complaint.followed_up", wib(4, 9, 10), {}),
            ("complaint.resolved", wib(4, 10, 12), {}),
            ("complaint.rated", wib(4, 11), {"rating": 5, "comment": None}),
        ],
    )
    # B
    b = await complaint(session, "11.01.01", status="resolved", channel="web", returns_count=1)
    await verification(session, b, wib(4, 9, 15))
    await add_assignment(session, b, "pemprov-11", status="returned", active=False)
    await add_assignment(session, b, "pemda-11.01", status="resolved")
    await agency_clocks(
        session, b, "pemprov-11", wib(4, 9, 16), end(4, 16), end(4, 29), wib(4, 10), wib(4, 10)
    )
    await agency_clocks(
        session, b, "pemda-11.01", wib(4, 10, 12), end(4, 17), end(5, 2), wib(4, 24), wib(4, 25)
    )
    await add_timeline(
        session,
        b,
        [
            ("complaint.submitted", SUBMITTED, {}),
            ("complaint.verified", wib(4, 9, 15), {}),
            ("complaint.dispositioned", wib(4, 9, 16), {}),
            ("complaint.returned", wib(4, 10), {}),
            ("complaint.dispositioned", wib(4, 10, 12), {}),
            ("complaint.sla_breached", end(4, 17), {}),
            ("complaint.escalated", end(4, 17), {}),
            ("complaint.followed_up", wib(4, 24), {}),
            ("complaint.resolved", wib(4, 25), {}),
            ("complaint.reopened", wib(4, 28), {"reason": "belum selesai"}),
            ("complaint.resolved", wib(4, 29), {}),
            ("complaint.rated", wib(4, 30), {"rating": 2, "comment": None}),
        ],
    )
    # C
    c = await complaint(
        session,
        "11.01.02",
        status="in_progress",
        category="kesehatan",
        report_type="aspirasi",
        channel="mobile",
    )
    await add_assignment(session, c, "pemda-11.01", status="accepted")
    await agency_clocks(session, c, "pemda-11.01", SUBMITTED, end(4, 11), end(4, 11), None, None)
    await add_timeline(
        session,
        c,
        [
            ("complaint.submitted", SUBMITTED, {}),
            ("complaint.verified", SUBMITTED, {}),
            ("complaint.dispositioned", SUBMITTED, {}),
            ("complaint.accepted", wib(3, 27), {}),
        ],
    )
    # D
    d = await complaint(session, "11.01.02", status="on_hold", channel="mobile")
    await verification(session, d, None, paused_at=wib(3, 26, 10))
    await add_timeline(
        session,
        d,
        [("complaint.submitted", SUBMITTED, {}), ("complaint.held", wib(3, 26, 10), {})],
    )
    # E
    e = await complaint(session, "11.01.01", status="archived", channel="regional_system")
    await verification(session, e, wib(3, 27))
    await add_timeline(
        session,
        e,
        [("complaint.submitted", SUBMITTED, {}), ("complaint.archived", wib(3, 27), {})],
    )
    # F
    f = await complaint(
        session,
        "11.01.01",
        status="resolved",
        category="kesehatan",
        report_type="permintaan_informasi",
        channel="mobile",
    )
    await verification(session, f, wib(4, 10, 8))
    await add_assignment(session, f, "pemda-11.01", status="resolved")
    await agency_clocks(
        session, f, "pemda-11.01", wib(4, 10), end(4, 17), end(4, 17), wib(4, 11), wib(4, 22)
    )
    await add_timeline(
        session,
        f,
        [
            ("complaint.submitted", SUBMITTED, {}),
            ("complaint.verified", wib(4, 10, 8), {}),
            ("complaint.dispositioned", wib(4, 10), {}),
            ("complaint.followed_up", wib(4, 11), {}),
            ("complaint.followed_up", wib(4, 15), {}),
            ("complaint.resolved", wib(4, 22), {}),
            ("complaint.rated", wib(4, 23), {"rating": 4, "comment": "cukup"}),
        ],
    )
    # G
    g = await complaint(session, "11.02.01", status="resolved", channel="mobile")
    await add_assignment(session, g, "pemda-11.02", status="resolved")
    await agency_clocks(
        session, g, "pemda-11.02", SUBMITTED, end(4, 11), end(4, 25), wib(3, 27), wib(3, 27, 10)
    )
    await add_timeline(
        session,
        g,
        [
            ("complaint.submitted", SUBMITTED, {}),
            ("complaint.verified", SUBMITTED, {}),
            ("complaint.dispositioned", SUBMITTED, {}),
            ("complaint.followed_up", wib(3, 27), {}),
            ("complaint.resolved", wib(3, 27, 10), {}),
            ("complaint.rated", wib(3, 28), {"rating": 5, "comment": None}),
        ],
    )
    # H
    h = await complaint(session, "32.01.01", status="resolved", channel="mobile")
    await add_assignment(session, h, "pemda-32.01", status="resolved")
    await agency_clocks(
        session, h, "pemda-32.01", SUBMITTED, end(4, 11), end(4, 25), wib(4, 14), wib(4, 14, 10)
    )
    await add_timeline(
        session,
        h,
        [
            ("complaint.submitted", SUBMITTED, {}),
            ("complaint.verified", SUBMITTED, {}),
            ("complaint.dispositioned", SUBMITTED, {}),
            ("complaint.followed_up", wib(4, 14), {}),
            ("complaint.resolved", wib(4, 14, 10), {}),
            ("complaint.rated", wib(4, 15), {"rating": 3, "comment": None}),
        ],
    )
    await session.commit()


@pytest.fixture
async def ops(runtime: Runtime, session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    # A minimum count of 3: some measures of the small set are flagged, most are not.
    settings = runtime.settings.model_copy(update={"stats_min_count": 3})
    own = replace(runtime, settings=settings)
    await build(session)
    await refresh(own)
    async with service_client(create_app(settings), own, OPS) as client:
        yield client


def values(measures: dict[str, Any]) -> dict[str, Any]:
    return {name: m["value"] for name, m in measures.items()}


async def test_a_kabupaten_measures_match_the_hand_computed_ones(
    ops: httpx.AsyncClient, session: AsyncSession
) -> None:
    population = await session.scalar(select(Region.population).where(Region.code == "11.01"))
    assert population

    response = await ops.get("/api/v1/stats/regions", params={"level": "regency", **PERIOD})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"]["first_week"] == "2025-03-24"
    region = next(r for r in body["items"] if r["code"] == "11.01")
    assert region["counts"] == {
        "status": {"resolved": 3, "in_progress": 1, "on_hold": 1, "archived": 1},
        "report_type": {"pengaduan": 4, "aspirasi": 1, "permintaan_informasi": 1},
        "channel": {"mobile": 4, "web": 1, "regional_system": 1},
        "category": {"infrastruktur": 4, "kesehatan": 2},
    }
    assert values(region["measures"]) == {
        "complaints": 6.0,
        "per_100k": round(6 * 100_000 / population, 2),
        # A, B, F finished; C in process; D no follow-up; E archived is outside the base.
        "finished_share": 60.0,
        "in_process_share": 20.0,
        "no_follow_up_share": 20.0,
        # A 1 day met, B 3 met, C 0 met, F 4 missed (D paused and E archived: not counted).
        "verification_compliance": 75.0,
        "verification_median_days": 1.0,
        "verification_p90_days": 4.0,
        # A 2 met, B 9 missed, C running past due (missed, no days), F 1 met.
        "first_response_compliance": 50.0,
        "first_response_median_days": 2.0,
        "first_response_p90_days": 9.0,
        # A 3 met, B 10 met, C running past due, F 7 missed.
        "completion_compliance": 50.0,
        "completion_median_days": 7.0,
        "completion_p90_days": 10.0,
        "backlog": 2.0,  # C, D
        "overdue": 1.0,  # C
        "overdue_share": 50.0,
        "backlog_on_time": 50.0,
        "escalation_rate": 16.7,  # B of 6
        "escalations": 1.0,
        "return_rate": 16.7,
        "returns": 1.0,
        "forwarding_rate": 16.7,  # B: pemprov-11 then pemda-11.01 (A's delegation is not)
        "first_contact_resolution": 33.3,  # A of A, B, F
        "reopen_rate": 33.3,  # B of A, B, F
        "rating": 3.67,  # 5, 2, 4
    }
    small = {name for name, m in region["measures"].items() if m["small"]}
    # Fewer than 3 behind them: only the backlog (2 open) and what is measured on it.
    assert small == {"backlog", "overdue", "overdue_share", "backlog_on_time"}
    assert region["measures"]["verification_compliance"] == {
        "value": 75.0,
        "numerator": 3,
        "denominator": 4,
        "small": False,
    }


async def test_a_category_narrows_the_counts(ops: httpx.AsyncClient) -> None:
    response = await ops.get(
        "/api/v1/stats/regions", params={"level": "regency", "category": "kesehatan", **PERIOD}
    )

    region = next(r for r in response.json()["items"] if r["code"] == "11.01")
    measures = values(region["measures"])
    assert measures["complaints"] == 2.0  # C, F
    assert measures["completion_compliance"] == 0.0  # C running late, F late
    assert region["counts"]["category"] == {"kesehatan": 2}


async def test_a_province_narrows_the_kabupaten_listed(ops: httpx.AsyncClient) -> None:
    response = await ops.get(
        "/api/v1/stats/regions", params={"level": "regency", "province": "32", **PERIOD}
    )

    codes = [r["code"] for r in response.json()["items"]]
    assert codes and all(code.startswith("32.") for code in codes)
    assert (
        next(r for r in response.json()["items"] if r["code"] == "32.01")["measures"]["complaints"][
            "value"
        ]
        == 1.0
    )


async def test_provinces_are_graded_with_the_measure_that_pulled_them_down(
    ops: httpx.AsyncClient,
) -> None:
    response = await ops.get("/api/v1/stats/ranking", params={"level": "province", **PERIOD})

    assert response.status_code == 200, response.text
    items = {i["code"]: i for i in response.json()["items"]}
    aceh = items["11"]
    # Aceh (A-G): verification 4 of 5 (80), first follow-up 3 of 5 (60), completion 3 of 5
    # (60), rating (5+2+4+5)/4 = 4.0 → 75; the backlog (2 open) is small and left out.
    # Weights 3 completion, 2 first follow-up, 1 verification, 1 rating (7):
    # losses 3/7×40 = 17.1, 2/7×40 = 11.4, 1/7×25 = 3.6, 1/7×20 = 2.9; score 100 - 245/7 = 65.
    assert aceh["score"] == 65.0
    assert aceh["grade"] == "Sedang"
    assert aceh["rank"] == 1
    assert [(loss["measure"], loss["points_lost"]) for loss in aceh["losses"]] == [
        ("completion_compliance", 17.1),
        ("first_response_compliance", 11.4),
        ("rating", 3.6),
        ("verification_compliance", 2.9),
    ]
    assert aceh["excluded"] == ["backlog_on_time"]
    assert aceh["reason"] == (
        "Sedang: score 65.0, 5.0 below Baik; completion_compliance (60.0) pulled it down "
        "most, by 17.1 points"
    )
    # Jawa Barat has one complaint: every measure is small, so no grade and no rank.
    jabar = items["32"]
    assert jabar["grade"] is None and jabar["rank"] is None
    assert jabar["reason"] == "too few complaints to grade"
    assert jabar["measures"]["complaints"]["value"] == 1.0


async def test_kabupaten_are_ranked_against_kabupaten(ops: httpx.AsyncClient) -> None:
    response = await ops.get("/api/v1/stats/ranking", params={"level": "regency", **PERIOD})

    items = {i["code"]: i for i in response.json()["items"]}
    assert "11" not in items
    # 11.01: verification 75 (w1), first follow-up 50 (w2), completion 50 (w3), rating 3.67 →
    # 66.75 (w1); the backlog is small. Score 100 - (25 + 2×50 + 3×50 + 33.25)/7 = 55.96.
    assert items["11.01"]["grade"] == "Sedang"
    assert items["11.01"]["score"] == 56.0
    assert items["11.02"]["grade"] is None  # G alone


async def test_an_agency_rolls_up_its_offices(
    ops: httpx.AsyncClient, session: AsyncSession
) -> None:
    province = await agency_id(session, "pemprov-11")
    regency = await agency_id(session, "pemda-11.01")

    whole = await ops.get(f"/api/v1/stats/agencies/{province}", params=PERIOD)
    own = await ops.get(f"/api/v1/stats/agencies/{regency}", params=PERIOD)

    assert whole.status_code == 200, whole.text
    # pemprov-11 handled B itself; A (through pemda-11.01's Dinas PUPR), C, F and G lie below.
    assert whole.json()["measures"]["complaints"]["value"] == 5.0
    measures = values(own.json()["measures"])
    # pemda-11.01: A (its office), B, C, F.
    assert measures["complaints"] == 4.0
    assert measures["completion_compliance"] == 50.0
    assert measures["first_contact_resolution"] == 33.3
    assert own.json()["counts"]["category"] == {"infrastruktur": 2, "kesehatan": 2}


async def test_a_trend_has_a_point_per_week(ops: httpx.AsyncClient) -> None:
    response = await ops.get(
        "/api/v1/stats/trends",
        params={"measure": "complaints", "region": "11", "from": "2025-03-17", "to": "2025-04-06"},
    )

    assert response.status_code == 200, response.text
    points = [(p["week"], p["value"]) for p in response.json()["points"]]
    assert points == [("2025-03-17", 0.0), ("2025-03-24", 7.0), ("2025-03-31", 0.0)]


async def test_an_unknown_measure_or_a_reversed_period_is_a_field_error(
    ops: httpx.AsyncClient,
) -> None:
    unknown = await ops.get("/api/v1/stats/trends", params={"measure": "speed"})
    reversed_ = await ops.get(
        "/api/v1/stats/regions", params={"from": "2025-04-01", "to": "2025-03-01"}
    )

    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/measure"
    assert reversed_.status_code == 422
    assert reversed_.json()["errors"][0]["pointer"] == "/from"
