"""The statistics calls: read the aggregates (never the complaint table), compute the measures
(routing/stats/measures.py), grade and rank. Never commits; reads only."""

import uuid
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from routing.stats.measures import (
    GRADES,
    MEASURES,
    SCORED,
    GradingPolicy,
    Measure,
    Totals,
    compute,
    grade,
    needed,
)
from routing.stats.refresh import WATERMARK
from routing.stats.repository import BREAKDOWNS, RegionRow, StatsRepository
from routing.stats.schemas import (
    AgencyStats,
    Body,
    Counts,
    Level,
    MeasureOut,
    Period,
    TrendOut,
    TrendPoint,
)
from services.policy import not_visible
from services.principal import Principal, Role
from services.problems import ProblemError
from services.settings import Settings

DEFAULT_DAYS = 365


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _raw(found: dict[str, Measure]) -> dict[str, dict[str, Any]]:
    """The measures as plain data: a listing validates its whole body at once (in pydantic's
    core), not ~13,000 MeasureOut one by one."""
    return {
        name: {
            "value": m.value,
            "numerator": m.numerator,
            "denominator": m.denominator,
            "small": m.small,
        }
        for name, m in found.items()
    }


def _measures(found: dict[str, Measure]) -> dict[str, MeasureOut]:
    return {
        name: MeasureOut(
            value=m.value, numerator=m.numerator, denominator=m.denominator, small=m.small
        )
        for name, m in found.items()
    }


class StatsService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.repository = StatsRepository(session)
        self.settings = settings
        self.min_count = settings.stats_min_count

    def period(
        self, first: date | None, last: date | None, category: str | None, today: date
    ) -> Period:
        to = last or today
        start = first or to - timedelta(days=DEFAULT_DAYS - 1)
        if start > to:
            raise ProblemError("validation_failed", errors=[("/from", "period_reversed")])
        return Period(
            from_=start,
            to=to,
            first_week=monday(start),
            last_week=monday(to),
            category=category,
            min_count=self.min_count,
        )

    async def refreshed_through(self) -> datetime | None:
        return await self.repository.watermark(WATERMARK)

    def _counts(self, row: Mapping[str, Any], categories: list[tuple[str, int]]) -> Counts:
        return Counts(**self._count_values(row, categories))

    def _count_values(
        self, row: Mapping[str, Any], categories: list[tuple[str, int]]
    ) -> dict[str, dict[str, int]]:
        """The breakdown columns of a summed row (values with no complaints left out)."""
        by: dict[str, dict[str, int]] = {
            dimension: {v: row[f"{dimension}_{v}"] for v in values if row.get(f"{dimension}_{v}")}
            for dimension, values in BREAKDOWNS.items()
        }
        by["category"] = dict(categories)
        return by

    async def _region_measures(
        self,
        level: Level,
        period: Period,
        within: str | None = None,
        measures: Collection[str] | None = None,
    ) -> list[tuple[RegionRow, dict[str, Measure], dict[str, dict[str, int]] | None]]:
        """Every region of the level with its measures and counts; with `measures`, only the
        sums those need are read (the others come out as of no complaints) and no counts."""
        regions = await self.repository.regions(level, within)
        rows = {
            row["code"]: row
            for row in await self.repository.region_totals(
                level,
                period.first_week,
                period.last_week,
                period.category,
                *([needed(measures)] if measures is not None else []),
            )
        }
        categories: dict[str, list[tuple[str, int]]] = {}
        if measures is None:
            for code, category, count in await self.repository.region_categories(
                level, period.first_week, period.last_week, period.category
            ):
                categories.setdefault(code, []).append((category, count))
        return [
            (
                region,
                compute(Totals.of(rows.get(region.code, {})), self.min_count, region.population),
                None
                if measures is not None
                else self._count_values(rows.get(region.code, {}), categories.get(region.code, [])),
            )
            for region in regions
        ]

    async def regions(self, level: Level, period: Period, within: str | None = None) -> Body:
        """The body of `RegionsOut` as plain data, not validated: for the kabupaten/kota it
        holds ~13,000 measures, and validating them cost more than computing them."""
        found = await self._region_measures(level, period, within)
        empty: dict[str, dict[str, int]] = {"status": {}, "report_type": {}, "channel": {}}
        return Body(
            {
                "level": level,
                "period": period,
                "refreshed_through": await self.refreshed_through(),
                "items": [
                    {
                        "code": region.code,
                        "name": region.name,
                        "level": level,
                        "population": region.population,
                        "measures": _raw(measures),
                        "counts": counts or {**empty, "category": {}},
                    }
                    for region, measures, counts in found
                ],
            },
        )

    def policy(self) -> GradingPolicy:
        return GradingPolicy.parse(
            self.settings.stats_grade_thresholds, self.settings.stats_grade_weights
        )

    async def ranking(self, level: Level, period: Period) -> Body:
        """The body of `RankingOut` as plain data (see `regions`)."""
        policy = self.policy()
        graded = []
        shown = {*SCORED, "complaints"}
        for region, measures, _ in await self._region_measures(level, period, measures=shown):
            graded.append((region, measures, grade(measures, policy)))
        # Best score first; the ungraded last, by code.
        graded.sort(key=lambda g: (g[2].score is None, -(g[2].score or 0), g[0].code))
        items: list[dict[str, Any]] = []
        rank = 0
        for region, measures, found in graded:
            if found.score is not None:
                rank += 1
            items.append(
                {
                    "rank": rank if found.score is not None else None,
                    "code": region.code,
                    "name": region.name,
                    "grade": found.grade,
                    "score": found.score,
                    "reason": found.reason,
                    "losses": [vars(loss) for loss in found.losses],
                    "excluded": found.excluded,
                    "measures": _raw(
                        {k: v for k, v in measures.items() if k in SCORED or k == "complaints"}
                    ),
                }
            )
        return Body(
            {
                "level": level,
                "period": period,
                "thresholds": dict(zip(GRADES, policy.thresholds, strict=False)),
                "weights": policy.weights,
                "items": items,
            },
        )

    async def agency(
        self, principal: Principal, agency_id: uuid.UUID, period: Period
    ) -> AgencyStats:
        if principal.role is Role.coordinator and not principal.covers_agency(agency_id):
            raise not_visible("agency", agency_id)
        agency = await self.repository.agency(agency_id)
        if agency is None:
            raise not_visible("agency", agency_id)
        row, categories = await self.repository.agency_totals(
            agency_id, period.first_week, period.last_week, period.category
        )
        counts = self._counts(row, categories)
        return AgencyStats(
            agency_id=agency_id,
            code=agency[0],
            name=agency[1],
            kind=agency[2],
            period=period,
            refreshed_through=await self.refreshed_through(),
            measures=_measures(compute(Totals.of(row), self.min_count)),
            counts=counts,
        )

    async def trends(self, measure: str, region: str | None, period: Period) -> TrendOut:
        if measure not in MEASURES:
            raise ProblemError("validation_failed", errors=[("/measure", "unknown_measure")])
        population = None
        if region:
            found = await self.repository.region(region)
            if found is None or found.level not in {"provinsi", "kabupaten_kota"}:
                raise ProblemError("validation_failed", errors=[("/region", "unknown_region")])
            population = found.population
        rows = {
            row["week"]: Totals.of(row)
            for row in await self.repository.weekly_totals(
                region, period.first_week, period.last_week, period.category, needed([measure])
            )
        }
        points = []
        week = period.first_week
        while week <= period.last_week:
            value = compute(rows.get(week, Totals()), self.min_count, population)[measure]
            points.append(
                TrendPoint(
                    week=week,
                    value=value.value,
                    numerator=value.numerator,
                    denominator=value.denominator,
                    small=value.small,
                )
            )
            week += timedelta(days=7)
        return TrendOut(measure=measure, region=region, period=period, points=points)
