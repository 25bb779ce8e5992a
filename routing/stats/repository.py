"""All of the statistics' SQL: the refresh job's reads and writes of the aggregates, the
statistics calls' reads of them (never of the complaint table), the ops lists and the export
cursor. Routing owns stats_complaint_facts, stats_weekly, stats_spans, stats_category_counts and
stats_watermarks."""

import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing.stats.facts import AssignmentIn, ClockIn, ComplaintIn, EventIn, Facts
from routing.stats.measures import CLOCKS, HISTOGRAMS, SUMS
from services.domain.channels import Channel
from services.domain.lifecycle import Status
from services.models import (
    Agency,
    Complaint,
    ComplaintAgency,
    ComplaintClock,
    Event,
    Region,
    StatsAreaWeekly,
    StatsCategoryCount,
    StatsComplaintFact,
    StatsSpan,
    StatsWatermark,
    StatsWeekly,
    StatsWeeklyAgency,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.models.stats import HISTOGRAM_BUCKETS, SPAN_EPOCH, SPAN_LEVELS

# Any row shape (SQLAlchemy 2.1's Select is variadic).
AnySelect = Select[*tuple[Any, ...]]
REPORT_TYPES = ("pengaduan", "aspirasi", "permintaan_informasi")
CHANNELS = tuple(c.value for c in Channel)


# The complaints per value of each dimension, one int column each: `<dimension>_<value>`.
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in Status),
    "report_type": REPORT_TYPES,
    "channel": CHANNELS,
}
BREAKDOWN_COLUMNS = tuple(f"{d}_{v}" for d, values in BREAKDOWNS.items() for v in values)
# A rollup row's int columns, then its histograms.
COUNT_COLUMNS = ("complaints", *BREAKDOWN_COLUMNS, *(c for c in SUMS if c != "complaints"))
CELL_COLUMNS = (*COUNT_COLUMNS, *HISTOGRAMS)


def _histogram(kind: str) -> str:
    last = HISTOGRAM_BUCKETS - 1
    buckets = ", ".join(
        f"count(*) FILTER (WHERE {kind}_days {'>=' if i == last else '='} {i})::int"
        for i in range(HISTOGRAM_BUCKETS)
    )
    return f"ARRAY[{buckets}]"


# Facts rows → one rollup row; the statistics of one agency use it straight on its facts.
FACT_AGGREGATES = ",\n".join(
    [
        "count(*)::int AS complaints",
        *(
            f"count(*) FILTER (WHERE {d} = '{v}')::int AS {d}_{v}"
            for d, values in BREAKDOWNS.items()
            for v in values
        ),
        "count(*) FILTER (WHERE share = 'finished')::int AS finished",
        "count(*) FILTER (WHERE share = 'in_process')::int AS in_process",
        "count(*) FILTER (WHERE share = 'no_follow_up')::int AS no_follow_up",
        *(
            f"count(*) FILTER (WHERE {k}_met)::int AS {k}_met, "
            f"count({k}_met)::int AS {k}_counted, {_histogram(k)} AS {k}_hist"
            for k in CLOCKS
        ),
        "count(*) FILTER (WHERE is_open)::int AS open",
        "count(*) FILTER (WHERE overdue)::int AS overdue",
        "count(*) FILTER (WHERE escalations > 0)::int AS escalated",
        "coalesce(sum(escalations), 0)::int AS escalations",
        "count(*) FILTER (WHERE returns > 0)::int AS returned",
        "coalesce(sum(returns), 0)::int AS returns",
        "count(*) FILTER (WHERE forwarded)::int AS forwarded",
        "count(*) FILTER (WHERE ever_resolved)::int AS resolved",
        "count(*) FILTER (WHERE first_contact_resolved)::int AS first_contact_resolved",
        "count(*) FILTER (WHERE reopened > 0 AND ever_resolved)::int AS reopened",
        "count(rating)::int AS rated",
        "coalesce(sum(rating), 0)::int AS rating_sum",
    ]
)
ROLLUP_COLUMNS = "week, region_code, category_code, " + ", ".join(CELL_COLUMNS)
REBUILD_CELLS = f"""
INSERT INTO stats_weekly ({ROLLUP_COLUMNS})
SELECT {ROLLUP_COLUMNS} FROM (
    SELECT week, region_code, coalesce(category_code, '') AS category_code,
    {FACT_AGGREGATES}
    FROM stats_complaint_facts
    WHERE (week, region_code) IN (SELECT * FROM unnest(CAST(:weeks AS date[]),
                                                       CAST(:regions AS varchar[])))
    GROUP BY GROUPING SETS ((week, region_code, category_code), (week, region_code))
) AS cell
"""
AGENCY_COLUMNS = ROLLUP_COLUMNS.replace("region_code", "agency_id", 1)
# A complaint counts for each agency in its agency_ids (handlers and every agency above them).
REBUILD_AGENCY_CELLS = f"""
INSERT INTO stats_weekly_agencies ({AGENCY_COLUMNS})
SELECT {AGENCY_COLUMNS} FROM (
    SELECT week, agency_id, coalesce(category_code, '') AS category_code,
    {FACT_AGGREGATES}
    FROM stats_complaint_facts CROSS JOIN LATERAL unnest(agency_ids) AS handled(agency_id)
    WHERE week = ANY(CAST(:week_set AS date[]))
      AND (week, agency_id) IN (SELECT * FROM unnest(CAST(:weeks AS date[]),
                                                     CAST(:agencies AS uuid[])))
    GROUP BY GROUPING SETS ((week, agency_id, category_code), (week, agency_id))
) AS cell
"""


def _sums(columns: Sequence[str] = CELL_COLUMNS) -> str:
    """The rollup's columns summed again (over a period, a set of regions, a span)."""
    return ", ".join(
        f"ARRAY[{', '.join(f'sum({c}[{i + 1}])::int' for i in range(HISTOGRAM_BUCKETS))}] AS {c}"
        if c in HISTOGRAMS
        else f"sum({c})::int AS {c}"
        for c in columns
    )


# A span of level k sums the spans of the level below it (the weekly rows for the first level)
# that start within it, per region and category.
REBUILD_SPANS = f"""
INSERT INTO stats_spans (level, start, region_code, category_code, {", ".join(CELL_COLUMNS)})
SELECT CAST(:level AS smallint), node.start, child.region_code, child.category_code, {_sums()}
FROM unnest(CAST(:starts AS date[]), CAST(:regions AS varchar[])) AS node(start, region_code)
JOIN ({{source}}) AS child ON child.region_code = node.region_code
    AND child.start >= node.start AND child.start < node.start + CAST(:days AS int)
GROUP BY node.start, child.region_code, child.category_code
"""
CELL_LIST = ", ".join(CELL_COLUMNS)
# The narrow copy of the category rows' complaints (stats_category_counts) of some nodes.
COPY_CATEGORY_COUNTS = """
INSERT INTO stats_category_counts (level, start, region_code, category_code, complaints)
SELECT CAST(:level AS smallint), start, region_code, category_code, complaints
FROM ({source}) AS child
WHERE category_code <> '' AND (start, region_code) IN (
    SELECT * FROM unnest(CAST(:starts AS date[]), CAST(:regions AS varchar[])))
"""


def _area_delta(sign: int) -> str:
    """Add (sign 1) or take out (-1) the stats_weekly rows of some (week, region) cells to or
    from the sums of their province and of the country (area '') in stats_area_weekly."""
    minus = "-" if sign < 0 else ""
    sums = ", ".join(
        f"ARRAY[{', '.join(f'{minus}sum({c}[{i + 1}])::int' for i in range(HISTOGRAM_BUCKETS))}]"
        if c in HISTOGRAMS
        else f"{minus}sum({c})::int"
        for c in CELL_COLUMNS
    )
    table = "stats_area_weekly"
    updates = ", ".join(
        f"{c} = ARRAY["
        + ", ".join(
            f"{table}.{c}[{i}] + excluded.{c}[{i}]" for i in range(1, HISTOGRAM_BUCKETS + 1)
        )
        + "]"
        if c in HISTOGRAMS
        else f"{c} = {table}.{c} + excluded.{c}"
        for c in CELL_COLUMNS
    )
    return (
        f"INSERT INTO {table} (week, area_code, category_code, {CELL_LIST}) "
        f"SELECT week, area.code, category_code, {sums} FROM stats_weekly "
        "CROSS JOIN LATERAL (VALUES (split_part(region_code, '.', 1)), ('')) AS area(code) "
        "WHERE (week, region_code) IN (SELECT * FROM unnest(CAST(:weeks AS date[]), "
        "CAST(:regions AS varchar[]))) GROUP BY 1, 2, 3 "
        f"ON CONFLICT (week, area_code, category_code) DO UPDATE SET {updates}"
    )


# pg_advisory_xact_lock key serialising rebuild() (the areas' sums change by difference).
AREA_LOCK = 0x5354_4154_5341_5245  # "STATSARE"
AREA_DELTAS = {sign: _area_delta(sign) for sign in (-1, 1)}


def span_start(week: date, level: int) -> date:
    """The Monday the span of 2**level weeks holding `week` starts on."""
    size = 7 * 2**level
    return SPAN_EPOCH + timedelta(days=(week - SPAN_EPOCH).days // size * size)


def cover(first: date, last: date) -> tuple[list[date], list[tuple[int, date]]]:
    """The weeks first..last (Mondays) as the fewest whole spans (level, start) and the weeks
    left over at the edges: a year is ~8 rows per region and category instead of 53."""
    weeks: list[date] = []
    spans: list[tuple[int, date]] = []
    week = first
    while week <= last:
        for level in sorted(SPAN_LEVELS, reverse=True):
            end = week + timedelta(weeks=2**level - 1)
            if span_start(week, level) == week and end <= last:
                spans.append((level, week))
                week = end + timedelta(weeks=1)
                break
        else:
            weeks.append(week)
            week += timedelta(weeks=1)
    return weeks, spans


def _region_key(level: str) -> str:
    """The rollup's region code, cut to the level asked for."""
    return "split_part(region_code, '.', 1)" if level == "province" else "region_code"


def _level_filter(level: str) -> str:
    return "true" if level == "province" else "strpos(region_code, '.') > 0"


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: str
    population: int | None


@dataclass(frozen=True)
class StalledRow:
    complaint_id: uuid.UUID
    tracking_id: str
    status: str
    region_code: str
    category_code: str
    submitted_at: datetime
    last_event_at: datetime
    returns: int
    escalation_level: int


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the refresh job -----------------------------------------------------------------
    async def watermark(self, name: str) -> datetime | None:
        return (await self.mark(name))[0]

    async def mark(self, name: str) -> tuple[datetime | None, uuid.UUID | None]:
        """(occurred_at, event id) read up to; no event id: every event of that instant."""
        row = (
            await self.session.execute(
                select(StatsWatermark.occurred_at, StatsWatermark.event_id).where(
                    StatsWatermark.name == name
                )
            )
        ).first()
        return (row.occurred_at, row.event_id) if row else (None, None)

    async def forget_watermark(self, name: str) -> None:
        await self.session.execute(delete(StatsWatermark).where(StatsWatermark.name == name))

    async def set_watermark(
        self, name: str, at: datetime, event_id: uuid.UUID | None = None
    ) -> None:
        statement = insert(StatsWatermark).values(name=name, occurred_at=at, event_id=event_id)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "occurred_at": statement.excluded.occurred_at,
                    "event_id": statement.excluded.event_id,
                },
            )
        )

    async def touched(
        self, after: datetime | None, after_id: uuid.UUID | None, limit: int
    ) -> list[tuple[datetime, uuid.UUID, uuid.UUID]]:
        """(occurred_at, event id, complaint id) of the complaint events after the mark, in
        (occurred_at, id) order: a keyset, so events of one instant are never skipped."""
        query = select(Event.occurred_at, Event.id, Event.complaint_id).where(
            Event.complaint_id.is_not(None)
        )
        if after is not None and after_id is None:
            query = query.where(Event.occurred_at > after)
        elif after is not None:
            query = query.where(tuple_(Event.occurred_at, Event.id) > tuple_(after, after_id))
        rows = await self.session.execute(query.order_by(Event.occurred_at, Event.id).limit(limit))
        return [(r.occurred_at, r.id, r.complaint_id) for r in rows]

    async def complaints_without_facts(self, limit: int) -> list[uuid.UUID]:
        """Complaints that have no facts yet (a first refresh of existing data)."""
        rows = await self.session.scalars(
            select(Complaint.id)
            .where(~select(1).where(StatsComplaintFact.complaint_id == Complaint.id).exists())
            .limit(limit)
        )
        return list(rows)

    async def inputs(
        self, ids: Sequence[uuid.UUID]
    ) -> tuple[
        list[ComplaintIn],
        dict[uuid.UUID, list[EventIn]],
        dict[uuid.UUID, list[ClockIn]],
        dict[uuid.UUID, list[AssignmentIn]],
    ]:
        complaints = [
            ComplaintIn(
                r.id,
                r.created_at,
                r.region_code,
                r.category_code,
                r.report_type,
                r.channel,
                r.status,
                r.returns_count,
            )
            for r in await self.session.execute(
                select(
                    Complaint.id,
                    Complaint.created_at,
                    Complaint.region_code,
                    Complaint.category_code,
                    Complaint.report_type,
                    Complaint.channel,
                    Complaint.status,
                    Complaint.returns_count,
                ).where(Complaint.id.in_(ids))
            )
        ]
        events: dict[uuid.UUID, list[EventIn]] = {}
        for r in await self.session.execute(
            select(Event.complaint_id, Event.type, Event.occurred_at, Event.data).where(
                Event.complaint_id.in_(ids)
            )
        ):
            events.setdefault(r.complaint_id, []).append(EventIn(r.type, r.occurred_at, r.data))
        clocks: dict[uuid.UUID, list[ClockIn]] = {}
        for c in await self.session.execute(
            select(
                ComplaintClock.complaint_id,
                ComplaintClock.kind,
                ComplaintClock.timezone,
                ComplaintClock.started_at,
                ComplaintClock.due_at,
                ComplaintClock.stopped_at,
                ComplaintClock.paused_at,
                ComplaintClock.breached_at,
            ).where(ComplaintClock.complaint_id.in_(ids))
        ):
            clocks.setdefault(c.complaint_id, []).append(
                ClockIn(
                    c.kind,
                    c.timezone,
                    c.started_at,
                    c.due_at,
                    c.stopped_at,
                    c.paused_at,
                    c.breached_at,
                )
            )
        assignments: dict[uuid.UUID, list[AssignmentIn]] = {}
        for a in await self.session.execute(
            select(
                ComplaintAgency.complaint_id,
                ComplaintAgency.agency_id,
                ComplaintAgency.role,
                ComplaintAgency.source_id,
            ).where(ComplaintAgency.complaint_id.in_(ids))
        ):
            assignments.setdefault(a.complaint_id, []).append(
                AssignmentIn(a.agency_id, a.role, a.source_id)
            )
        return complaints, events, clocks, assignments

    async def agency_parents(self) -> dict[uuid.UUID, uuid.UUID | None]:
        rows = await self.session.execute(select(Agency.id, Agency.parent_id))
        return {r.id: r.parent_id for r in rows}

    async def cells_of(self, ids: Sequence[uuid.UUID]) -> set[tuple[date, str]]:
        rows = await self.session.execute(
            select(StatsComplaintFact.week, StatsComplaintFact.region_code).where(
                StatsComplaintFact.complaint_id.in_(ids)
            )
        )
        return {(r.week, r.region_code) for r in rows}

    async def save_facts(self, facts: Sequence[Facts]) -> None:
        if not facts:
            return
        # Shallow (dataclasses.asdict deep-copies every list, a tenth of a refresh's time).
        names = [f.name for f in fields(facts[0])]
        rows = [{name: getattr(fact, name) for name in names} for fact in facts]
        # One statement with the rows as executemany parameters: SQLAlchemy compiles it once
        # (cached) and batches the VALUES itself; a literal multi-row VALUES was compiled
        # afresh for every batch, over half of a refresh's time.
        statement = insert(StatsComplaintFact)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["complaint_id"],
                set_={k: statement.excluded[k] for k in rows[0] if k != "complaint_id"},
            ),
            rows,
        )

    async def rebuild(self, cells: Collection[tuple[date, str]], *, spans: bool = True) -> None:
        """Recompute the rollup rows of (week, region) cells from their facts; `spans=False`
        leaves the spans above them to the caller (a bulk rebuild does them once at the end)."""
        if not cells:
            return
        # The areas' sums are changed by difference, not recomputed: two refreshes rebuilding
        # the same cell at once would both take its old rows out. One rebuild at a time (until
        # the transaction ends); each statement then reads what the one before committed.
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AREA_LOCK})
        # The planner guesses the cells' rows far too many and would compile these statements'
        # hundreds of sums (JIT): seconds per statement for a few thousand rows.
        await self.session.execute(text("SET LOCAL jit = off"))
        # A batch's cells are a few thousand ~1 KB rows to group: sorted in memory, not on disk.
        await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
        params = {
            "weeks": [c[0] for c in cells],
            "regions": [c[1] for c in cells],
        }
        # The cells' rows leave their province's and the country's sums...
        await self.session.execute(text(AREA_DELTAS[-1]), params)
        await self.session.execute(
            StatsWeekly.__table__.delete().where(  # type: ignore[attr-defined]
                tuple_(StatsWeekly.week, StatsWeekly.region_code).in_(list(cells))
            )
        )
        await self.session.execute(text(REBUILD_CELLS), params)
        # ...and come back recomputed; an area left with no complaint has no row.
        await self.session.execute(text(AREA_DELTAS[1]), params)
        await self.session.execute(
            delete(StatsAreaWeekly).where(
                StatsAreaWeekly.complaints == 0,
                StatsAreaWeekly.week.in_(sorted({c[0] for c in cells})),
            )
        )
        source = f"SELECT week AS start, region_code, category_code, {CELL_LIST} FROM stats_weekly"
        await self._copy_category_counts(0, sorted(cells), source)
        if spans:
            await self._rebuild_spans(cells)

    async def _copy_category_counts(
        self, level: int, nodes: Sequence[tuple[date, str]], source: str
    ) -> None:
        """stats_category_counts of these (start, region) nodes of a level, from `source`."""
        count = StatsCategoryCount
        await self.session.execute(
            count.__table__.delete().where(  # type: ignore[attr-defined]
                count.level == level, tuple_(count.start, count.region_code).in_(list(nodes))
            )
        )
        await self.session.execute(
            text(COPY_CATEGORY_COUNTS.format(source=source)),
            {
                "level": level,
                "starts": [n[0] for n in nodes],
                "regions": [n[1] for n in nodes],
            },
        )

    async def _rebuild_spans(self, cells: Collection[tuple[date, str]]) -> None:
        """Recompute the spans holding these cells, level by level from the one below."""
        source = f"SELECT week AS start, region_code, category_code, {CELL_LIST} FROM stats_weekly"
        for level in sorted(SPAN_LEVELS):
            nodes = sorted({(span_start(week, level), region) for week, region in cells})
            await self.session.execute(
                StatsSpan.__table__.delete().where(  # type: ignore[attr-defined]
                    StatsSpan.level == level,
                    tuple_(StatsSpan.start, StatsSpan.region_code).in_(nodes),
                )
            )
            await self.session.execute(
                text(REBUILD_SPANS.format(source=source)),
                {
                    "level": level,
                    "days": 7 * 2**level,
                    "starts": [n[0] for n in nodes],
                    "regions": [n[1] for n in nodes],
                },
            )
            source = (
                f"SELECT start, region_code, category_code, {CELL_LIST} FROM stats_spans "
                f"WHERE level = {level}"
            )
            await self._copy_category_counts(level, nodes, source)

    async def rebuild_agencies(self, cells: Collection[tuple[date, uuid.UUID]]) -> None:
        """Recompute the rollup rows of (week, agency) cells from their facts."""
        if not cells:
            return
        await self.session.execute(
            StatsWeeklyAgency.__table__.delete().where(  # type: ignore[attr-defined]
                tuple_(StatsWeeklyAgency.week, StatsWeeklyAgency.agency_id).in_(list(cells))
            )
        )
        await self.session.execute(
            text(REBUILD_AGENCY_CELLS),
            {
                "week_set": sorted({c[0] for c in cells}),
                "weeks": [c[0] for c in cells],
                "agencies": [c[1] for c in cells],
            },
        )

    async def agency_cells_of(self, ids: Sequence[uuid.UUID]) -> set[tuple[date, uuid.UUID]]:
        rows = await self.session.execute(
            select(StatsComplaintFact.week, func.unnest(StatsComplaintFact.agency_ids)).where(
                StatsComplaintFact.complaint_id.in_(ids)
            )
        )
        return {(r[0], r[1]) for r in rows}

    # --- the statistics calls ------------------------------------------------------------
    async def regions(self, level: str, prefix: str | None = None) -> list[RegionRow]:
        wanted = "provinsi" if level == "province" else "kabupaten_kota"
        query = select(Region.code, Region.name, Region.level, Region.population).where(
            Region.level == wanted
        )
        if prefix:
            query = query.where(Region.code.startswith(prefix + "."))
        rows = await self.session.execute(query.order_by(Region.code))
        return [RegionRow(r.code, r.name, r.level, r.population) for r in rows]

    async def region(self, code: str) -> RegionRow | None:
        row = (
            await self.session.execute(
                select(Region.code, Region.name, Region.level, Region.population).where(
                    Region.code == code
                )
            )
        ).first()
        return RegionRow(row.code, row.name, row.level, row.population) if row else None

    def _period(self, first: date, last: date, category: str | None) -> dict[str, Any]:
        return {"first": first, "last": last, "category": category or ""}

    def _covered(self, first: date, last: date, category: str | None) -> dict[str, Any]:
        weeks, spans = cover(first, last)
        return {
            "weeks": weeks,
            "levels": [level for level, _ in spans],
            "starts": [start for _, start in spans],
            "category": category or "",
        }

    def _cells(self, columns: str, where: str) -> str:
        """The weekly rows and spans that cover the period (`_covered`), filtered."""
        return (
            f"SELECT region_code, category_code, {columns} FROM stats_weekly "
            f"WHERE week = ANY(CAST(:weeks AS date[])) AND {where} UNION ALL "
            f"SELECT region_code, category_code, {columns} FROM stats_spans "
            "WHERE (level, start) IN (SELECT * FROM unnest(CAST(:levels AS smallint[]), "
            f"CAST(:starts AS date[]))) AND {where}"
        )

    async def region_totals(
        self,
        level: str,
        first: date,
        last: date,
        category: str | None,
        columns: Sequence[str] = CELL_COLUMNS,
    ) -> list[dict[str, Any]]:
        """Per region of `level`, the sums of `columns` (default all: the measures' sums and
        histograms, and the breakdowns by status, report type and channel) over the weeks
        first..last (Mondays). A province reads its own sums (stats_area_weekly, ~40 rows a
        week, small enough to stay in memory), not its kabupaten/kota's."""
        if level == "province":
            query = (
                f"SELECT area_code AS code, {_sums(columns)} FROM stats_area_weekly "
                "WHERE category_code = :category AND area_code <> '' "
                "AND week BETWEEN :first AND :last GROUP BY 1"
            )
            params = self._period(first, last, category)
        else:
            cells = self._cells(", ".join(columns), "category_code = :category")
            query = (
                f"SELECT {_region_key(level)} AS code, {_sums(columns)} FROM ({cells}) AS cell "
                f"WHERE {_level_filter(level)} GROUP BY 1"
            )
            params = self._covered(first, last, category)
        rows = await self.session.execute(text(query), params)
        return [dict(r._mapping) for r in rows]

    async def region_categories(
        self, level: str, first: date, last: date, category: str | None
    ) -> list[tuple[str, str, int]]:
        """(region, category, complaints) over the weeks first..last (stats_category_counts:
        the weeks are its level 0)."""
        covered = self._covered(first, last, category)
        covered["levels"] = [0] * len(covered["weeks"]) + covered["levels"]
        covered["starts"] = covered.pop("weeks") + covered["starts"]
        rows = await self.session.execute(
            text(
                f"SELECT {_region_key(level)}, category_code, sum(complaints)::int "
                "FROM stats_category_counts WHERE (level, start) IN (SELECT * FROM "
                "unnest(CAST(:levels AS smallint[]), CAST(:starts AS date[]))) "
                "AND (:category = '' OR category_code = :category) "
                f"AND {_level_filter(level)} GROUP BY 1, 2"
            ),
            covered,
        )
        return [(str(r[0]), r[1], r[2]) for r in rows]

    async def weekly_totals(
        self,
        prefix: str | None,
        first: date,
        last: date,
        category: str | None,
        columns: Sequence[str] = CELL_COLUMNS,
    ) -> list[dict[str, Any]]:
        """Per week, the sums of `columns` over the regions under `prefix` (every region
        without one): the country's or a province's read their sums (stats_area_weekly)."""
        if not prefix or "." not in prefix:
            table, where = "stats_area_weekly", "area_code = :area"
        else:
            table, where = "stats_weekly", "(region_code = :prefix OR region_code LIKE :like)"
        rows = await self.session.execute(
            text(
                f"SELECT week, {_sums(columns)} FROM {table} "
                "WHERE category_code = :category AND week BETWEEN :first AND :last "
                f"AND {where} GROUP BY week ORDER BY week"
            ),
            {
                **self._period(first, last, category),
                "prefix": prefix,
                "like": f"{prefix}.%",
                "area": prefix or "",
            },
        )
        return [dict(r._mapping) for r in rows]

    async def agency_totals(
        self, agency_id: uuid.UUID, first: date, last: date, category: str | None
    ) -> tuple[dict[str, Any], list[tuple[str, int]]]:
        """One agency's (offices rolled up) sums over the weeks, and its complaints per
        category."""
        params = {**self._period(first, last, category), "agency": agency_id}
        period = "agency_id = :agency AND week BETWEEN :first AND :last"
        row = (
            await self.session.execute(
                text(
                    f"SELECT {_sums()} FROM stats_weekly_agencies "
                    f"WHERE category_code = :category AND {period}"
                ),
                params,
            )
        ).one()
        categories = await self.session.execute(
            text(
                "SELECT category_code, sum(complaints)::int FROM stats_weekly_agencies "
                "WHERE category_code <> '' AND (:category = '' OR category_code = :category) "
                f"AND {period} GROUP BY 1"
            ),
            params,
        )
        return dict(row._mapping), [(r[0], r[1]) for r in categories]

    async def agency(self, agency_id: uuid.UUID) -> tuple[str, str, str] | None:
        row = (
            await self.session.execute(
                select(Agency.code, Agency.name, Agency.kind).where(Agency.id == agency_id)
            )
        ).first()
        return (row.code, row.name, row.kind) if row else None

    # --- ops lists -----------------------------------------------------------------------
    def _listed(self, where: Any, before: uuid.UUID | None, limit: int) -> AnySelect:
        query = (
            select(
                StatsComplaintFact.complaint_id,
                Complaint.tracking_id,
                StatsComplaintFact.status,
                Complaint.region_code,
                StatsComplaintFact.category_code,
                StatsComplaintFact.submitted_at,
                StatsComplaintFact.last_event_at,
                StatsComplaintFact.returns,
                Complaint.escalation_level,
            )
            .join(Complaint, Complaint.id == StatsComplaintFact.complaint_id)
            .where(where)
        )
        if before is not None:
            query = query.where(StatsComplaintFact.complaint_id < before)
        return query.order_by(StatsComplaintFact.complaint_id.desc()).limit(limit)

    async def listed(
        self, which: str, before: uuid.UUID | None, limit: int, stalled_before: datetime
    ) -> list[StalledRow]:
        """overdue, returned (more than once) or stalled complaints, newest first."""
        where = {
            "overdue": StatsComplaintFact.overdue.is_(True),
            "returned": StatsComplaintFact.returns > 1,
            "stalled": and_(
                StatsComplaintFact.is_open.is_(True),
                StatsComplaintFact.last_event_at < stalled_before,
            ),
        }[which]
        rows = await self.session.execute(self._listed(where, before, limit))
        return [StalledRow(*r) for r in rows]

    async def outbox_lag(self) -> tuple[int, datetime | None]:
        """Unpublished events and the oldest one's time (through ix_events_unpublished)."""
        row = (
            await self.session.execute(
                select(func.count(), func.min(Event.occurred_at)).where(
                    Event.published_at.is_(None)
                )
            )
        ).one()
        return int(row[0]), row[1]

    async def dead_letters(self) -> list[tuple[uuid.UUID, str, int]]:
        """Dead-lettered webhook deliveries per endpoint (notifications' table, read only)."""
        rows = await self.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.url, func.count(WebhookDelivery.id))
            .join(WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
            .where(WebhookDelivery.status == "dead")
            .group_by(WebhookEndpoint.id, WebhookEndpoint.url)
            .order_by(func.count(WebhookDelivery.id).desc())
        )
        return [(r[0], str(r[1]), int(r[2])) for r in rows]

    async def failed_events(self) -> list[tuple[str, str, int]]:
        rows = await self.session.execute(
            text(
                "SELECT consumer, status, count(*)::int FROM event_failures "
                "WHERE status <> 'resolved' GROUP BY 1, 2 ORDER BY 1, 2"
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]


def export_query(
    *,
    region_prefix: str | None,
    category: str | None,
    report_type: str | None,
    statuses: Collection[str],
    created_from: datetime | None,
    created_to: datetime | None,
) -> AnySelect:
    query = select(
        Complaint.tracking_id,
        Complaint.created_at,
        Complaint.report_type,
        Complaint.category_code,
        Complaint.region_code,
        Complaint.status,
        Complaint.escalation_level,
        Complaint.returns_count,
        Complaint.anonymous,
        Complaint.confidential,
        Complaint.title,
        Complaint.description,
        Complaint.address,
        Complaint.reporter_name,
        Complaint.reporter_email,
        Complaint.reporter_phone,
    )
    if region_prefix:
        query = query.where(
            (Complaint.region_code == region_prefix)
            | Complaint.region_code.startswith(region_prefix + ".")
        )
    if category:
        query = query.where(Complaint.category_code == category)
    if report_type:
        query = query.where(Complaint.report_type == report_type)
    if statuses:
        query = query.where(Complaint.status.in_(list(statuses)))
    if created_from is not None:
        query = query.where(Complaint.created_at >= created_from)
    if created_to is not None:
        query = query.where(Complaint.created_at < created_to)
    return query.order_by(Complaint.id)


async def stream_export(
    session: AsyncSession, query: AnySelect, batch: int = 1000
) -> AsyncIterator[Sequence[Any]]:
    """The export's rows through a server-side cursor, `batch` at a time (constant memory)."""
    result = await session.stream(query.execution_options(yield_per=batch))
    async for partition in result.partitions(batch):
        yield partition


class BulkStatsRepository(StatsRepository):
    """For writers of complaints with a past and their facts (seed-demo): after_bulk_facts."""

    async def complaints_behind(
        self, after: datetime, after_id: uuid.UUID | None, until: datetime
    ) -> list[uuid.UUID]:
        """Complaints with an event after the mark (keyset as `touched`), up to `until`, whose
        facts are missing or older than that event (through ix_events_occurred_at)."""
        facts = StatsComplaintFact
        since = (
            Event.occurred_at > after
            if after_id is None
            else tuple_(Event.occurred_at, Event.id) > tuple_(after, after_id)
        )
        rows = await self.session.scalars(
            select(Event.complaint_id)
            .distinct()
            .outerjoin(facts, facts.complaint_id == Event.complaint_id)
            .where(
                Event.complaint_id.is_not(None),
                since,
                Event.occurred_at <= until,
                (facts.complaint_id.is_(None)) | (facts.last_event_at < Event.occurred_at),
            )
        )
        return [r for r in rows if r is not None]

    async def rebuild_weeks(self, weeks: Collection[date]) -> None:
        """Every rollup row (regions and agencies) of these weeks, from all their facts: what
        rebuild() and rebuild_agencies() give for every cell of the weeks. Regions go through
        rebuild() a week at a time (their areas and category counts come along), their spans
        once at the end;
        agencies in one pass per week (rebuild_agencies() is slow when every cell shares a
        week)."""
        cells: set[tuple[date, str]] = set()
        for week in sorted(weeks):
            regions = await self.session.scalars(
                select(StatsComplaintFact.region_code)
                .where(StatsComplaintFact.week == week)
                .distinct()
            )
            week_cells = {(week, region) for region in regions}
            await self.rebuild(week_cells, spans=False)
            cells |= week_cells
        # Once for all the weeks: a span holds many of them (a 64-week span every one).
        await self._rebuild_spans(cells)
        columns = ROLLUP_COLUMNS.replace("region_code", "agency_id", 1)
        for week in sorted(weeks):
            await self.session.execute(
                text("DELETE FROM stats_weekly_agencies WHERE week = :week"), {"week": week}
            )
            await self.session.execute(
                text(
                    f"INSERT INTO stats_weekly_agencies ({columns}) SELECT {columns} FROM ("
                    "SELECT week, agency_id, coalesce(category_code, '') AS category_code, "
                    f"{FACT_AGGREGATES} FROM stats_complaint_facts "
                    "CROSS JOIN LATERAL unnest(agency_ids) AS h(agency_id) WHERE week = :week "
                    "GROUP BY GROUPING SETS ((week, agency_id, category_code), (week, agency_id))"
                    ") AS cell"
                ),
                {"week": week},
            )
