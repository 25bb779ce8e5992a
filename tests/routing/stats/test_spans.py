"""The statistics over long periods: the spans (stats_spans) that stand for whole runs of
weeks give the same numbers as the weeks they sum, and a call reads only the sums it needs."""

from datetime import date, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from routing.stats.measures import HISTOGRAMS, MEASURES, SUMS, Totals, compute, needed
from routing.stats.repository import StatsRepository, cover
from tests.routing.stats.test_acceptance import PERIOD, ops  # noqa: F401  (the fixture)


def test_each_measure_reads_only_the_sums_it_needs() -> None:
    """A trend or the ranking sums only `needed(...)`: every other sum must leave it alone."""
    base = Totals()
    for i, name in enumerate(SUMS):
        base.sums[name] = 40 + i
    for name in HISTOGRAMS:
        base.hists[name] = [1] * len(base.hists[name])
    for measure in MEASURES:
        kept = Totals()
        for name in needed([measure]):
            if name in base.sums:
                kept.sums[name] = base.sums[name]
            else:
                kept.hists[name] = base.hists[name]
        assert compute(kept, 10, 1000)[measure] == compute(base, 10, 1000)[measure], measure


def test_a_period_is_covered_by_whole_spans_and_edge_weeks_exactly_once() -> None:
    first = date(2025, 12, 1)
    for length in (1, 5, 53, 120):
        last = first + timedelta(weeks=length - 1)
        weeks, spans = cover(first, last)
        covered = list(weeks) + [
            start + timedelta(weeks=i) for level, start in spans for i in range(2**level)
        ]
        assert sorted(covered) == [first + timedelta(weeks=i) for i in range(length)]
    weeks, spans = cover(first, first + timedelta(weeks=52))
    assert len(weeks) + len(spans) <= 11  # a year: at most 11 rows per region, not 53


async def test_a_year_reads_the_same_numbers_as_the_one_week_holding_every_complaint(
    ops: httpx.AsyncClient,  # noqa: F811
) -> None:
    # Every complaint of the set was submitted in the week of PERIOD; a year around it is
    # read through spans of 4, 16 and 64 weeks and must say exactly the same.
    year = {"from": "2024-10-01", "to": "2025-09-30"}
    for path, params in (
        ("/api/v1/stats/regions", {"level": "regency"}),
        ("/api/v1/stats/regions", {"level": "province"}),
        ("/api/v1/stats/regions", {"level": "regency", "category": "kesehatan"}),
        ("/api/v1/stats/ranking", {"level": "regency"}),
    ):
        week = (await ops.get(path, params={**params, **PERIOD})).json()
        long = (await ops.get(path, params={**params, **year})).json()
        assert week["items"] == long["items"], (path, params)
    # ...and the week of the complaints is read through a span indeed.
    _, spans = cover(date(2024, 9, 30), date(2025, 9, 29))
    monday = date(2025, 3, 24)
    assert any(s <= monday < s + timedelta(weeks=2**level) for level, s in spans)


async def test_provinces_and_the_country_read_the_sums_of_their_regions_after_any_rebuild(
    ops: httpx.AsyncClient,  # noqa: F811
    session: AsyncSession,
) -> None:
    # Provinces and the country's trend read their own sums (stats_area_weekly), kept by taking a
    # rebuilt cell's rows out and adding them back: rebuilding every cell again, twice, and
    # emptying one, must leave them the sums of the kabupaten/kota under them.
    async def read() -> tuple[dict[str, int], dict[str, int], int, int]:
        provinces = (await ops.get("/api/v1/stats/regions", params=PERIOD)).json()["items"]
        regencies = (
            await ops.get("/api/v1/stats/regions", params={**PERIOD, "level": "regency"})
        ).json()["items"]
        trend = (
            await ops.get("/api/v1/stats/trends", params={**PERIOD, "measure": "complaints"})
        ).json()["points"]
        under: dict[str, int] = {}
        for r in regencies:
            province = r["code"].split(".")[0]
            under[province] = under.get(province, 0) + r["measures"]["complaints"]["value"]
        by_province = {p["code"]: p["measures"]["complaints"]["value"] for p in provinces}
        return by_province, under, sum(by_province.values()), sum(p["value"] for p in trend)

    by_province, under, total, trend = await read()
    assert total == trend > 0
    assert all(by_province[code] >= count for code, count in under.items())
    repository = StatsRepository(session)
    cells = {
        (r[0], r[1])
        for r in await session.execute(
            text("SELECT week, region_code FROM stats_weekly WHERE category_code = ''")
        )
    }
    for _ in range(2):
        await repository.rebuild(cells)
        await session.commit()
    assert await read() == (by_province, under, total, trend)
    # A cell whose complaints left it (for an unknown region): its province loses them.
    week, region = max(cells, key=lambda c: c[1].count("."))
    gone = (
        await session.execute(
            text("SELECT count(*) FROM stats_complaint_facts WHERE week = :w AND region_code = :r"),
            {"w": week, "r": region},
        )
    ).scalar_one()
    await session.execute(
        text(
            "UPDATE stats_complaint_facts SET region_code = '99.99' "
            "WHERE week = :w AND region_code = :r"
        ),
        {"w": week, "r": region},
    )
    await repository.rebuild({(week, region), (week, "99.99")})
    await session.commit()
    after, _, after_total, after_trend = await read()
    province = region.split(".")[0]
    assert after[province] == by_province[province] - gone
    assert after_total == total - gone  # 99 is no province of the reference data...
    assert after_trend == trend  # ...but the country still counts them
