"""The statistics over long periods: the spans (stats_spans) that stand for whole runs of
weeks give the same numbers as the weeks they sum, and a call reads only the sums it needs."""

from datetime import date, timedelta

import httpx

from routing.stats.measures import HISTOGRAMS, MEASURES, SUMS, Totals, compute, needed
from routing.stats.repository import cover
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
