"""The statistics, ops lists and exports' HTTP routes (thin: parse, call, shape)."""

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from routing.stats.exports import (
    ExportFilter,
    audience_of,
    csv_stream,
    file_name,
    xlsx_stream,
)
from routing.stats.measures import MEASURES
from routing.stats.ops import ListName, OpsComplaint, OpsService, PipelineHealth
from routing.stats.schemas import (
    AgencyStats,
    Body,
    Level,
    Period,
    RankingOut,
    RegionsOut,
    TrendOut,
)
from routing.stats.service import StatsService
from services.clock import now as platform_now
from services.deps import RuntimeDep, SessionDep
from services.domain.calendar import local_day
from services.domain.lifecycle import Status
from services.domain.sla import VERIFICATION_TIMEZONE
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES, Problem, ProblemError

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])
ops_router = APIRouter(prefix="/api/v1/ops", tags=["ops"])
exports_router = APIRouter(prefix="/api/v1/exports", tags=["exports"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    403: {"model": Problem, "description": "Not ops or an admin"},
}
MEASURE_TABLE = "\n".join(f"- `{name}`: {text}" for name, text in MEASURES.items())
DEFINITIONS = (
    "\n\nPeriods are whole weeks (Monday-Sunday, WIB) of *submission*: `from` and `to` pick "
    "the weeks that contain them (default: the last 365 days). Every measure comes as "
    "`{value, numerator, denominator, small}`; `small` means fewer than `min_count` "
    "(ADUAN_STATS_MIN_COUNT) complaints behind it: shown, left out of grades. Durations are "
    "whole working days (weekends, public holidays and cuti bersama skipped) from the start "
    "of the deciding deadline clock to its stop; the median and 90th percentile are nearest-"
    "rank. The numbers are kept current by the routing worker from the events "
    "(`refreshed_through`), not computed from the complaints per call.\n\nMeasures:\n"
    + MEASURE_TABLE
)
From = Annotated[date | None, Query(alias="from", description="First day of the period")]
To = Annotated[date | None, Query(description="Last day of the period (default today)")]
CategoryQ = Annotated[
    str | None,
    Query(max_length=64, description="Only this category", examples=["infrastruktur"]),
]
LevelQ = Annotated[
    Level, Query(description="`province` or `regency` (kabupaten/kota)", examples=["province"])
]


def as_json(body: BaseModel | Body) -> Response:
    """The body as the service built it: FastAPI would dump a returned model and validate it
    again against `response_model` (~13,000 measures for the kabupaten/kota) before
    serialising it; the route keeps `response_model` for the OpenAPI document."""
    content = body.json() if isinstance(body, Body) else body.model_dump_json(by_alias=True)
    return Response(content, media_type="application/json")


async def get_stats_service(session: SessionDep, runtime: RuntimeDep) -> StatsService:
    return StatsService(session, runtime.settings)


async def get_ops_service(session: SessionDep, runtime: RuntimeDep) -> OpsService:
    return OpsService(session, runtime.settings, runtime.redis)


StatsDep = Annotated[StatsService, Depends(get_stats_service)]
OpsDep = Annotated[OpsService, Depends(get_ops_service)]


async def today(runtime: RuntimeDep) -> date:
    return local_day(await platform_now(runtime.settings, runtime.redis), VERIFICATION_TIMEZONE)


Today = Annotated[date, Depends(today)]


@router.get(
    "/regions",
    response_model=RegionsOut,
    summary="Statistics per province or kabupaten/kota",
    description="Every region of the level with its measures and its counts by status, "
    "report type, channel and category. A complaint counts in the kabupaten/kota of its "
    "region code (a complaint located at a province only, in the province). Ops and admins."
    + DEFINITIONS,
    responses=RESPONSES,
    dependencies=[Requires(Permission.stats_read)],
)
async def region_stats(
    service: StatsDep,
    day: Today,
    level: LevelQ = "province",
    first: From = None,
    to: To = None,
    category: CategoryQ = None,
    province: Annotated[
        str | None,
        Query(
            max_length=2,
            pattern=r"^\d{2}$",
            description="Only the kabupaten/kota of this province",
            examples=["11"],
        ),
    ] = None,
) -> Response:
    period = service.period(first, to, category, day)
    return as_json(await service.regions(level, period, province if level == "regency" else None))


@router.get(
    "/agencies/{agency_id}",
    response_model=AgencyStats,
    summary="Statistics of an agency with its offices",
    description="The measures of the complaints an agency or any office below it handled "
    "(at any time). Ops and admins for every agency; a coordinator for its own agency and its "
    "offices (another agency answers 404)." + DEFINITIONS,
    responses={**RESPONSES, 404: {"model": Problem, "description": "No such agency for you"}},
)
async def agency_stats(
    agency_id: Annotated[uuid.UUID, Path(examples=["0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"])],
    principal: Annotated[Principal, Requires(Permission.agency_stats_read)],
    service: StatsDep,
    day: Today,
    first: From = None,
    to: To = None,
    category: CategoryQ = None,
) -> AgencyStats:
    return await service.agency(principal, agency_id, service.period(first, to, category, day))


@router.get(
    "/ranking",
    response_model=RankingOut,
    summary="Regional governments graded and ranked",
    description="Provinces against provinces, or kabupaten/kota against kabupaten/kota. Each "
    "region's score (0-100) is the weighted mean of its scored measures "
    "(ADUAN_STATS_GRADE_WEIGHTS; a rating of 1-5 counts as 0-100), leaving out measures that "
    "are small; the grade follows ADUAN_STATS_GRADE_THRESHOLDS (Sangat Baik, Baik, Sedang, "
    "else Kurang). `losses` says, per measure, how many points it cost (weight share × "
    "(100 - its score): they add up to 100 - score), and `reason` names the grade above, the "
    "points missing to it and the measure that pulled the score down most. A region with no "
    "gradable measure has no grade and no rank. Ops and admins." + DEFINITIONS,
    responses=RESPONSES,
    dependencies=[Requires(Permission.stats_read)],
)
async def ranking(
    service: StatsDep,
    day: Today,
    level: LevelQ = "province",
    first: From = None,
    to: To = None,
    category: CategoryQ = None,
) -> Response:
    return as_json(await service.ranking(level, service.period(first, to, category, day)))


@router.get(
    "/trends",
    response_model=TrendOut,
    summary="A measure week by week",
    description="One point per week of the period (weeks with no complaints included), for "
    "a province or kabupaten/kota (`region`) or the whole country. Ops and admins." + DEFINITIONS,
    responses=RESPONSES,
    dependencies=[Requires(Permission.stats_read)],
)
async def trends(
    service: StatsDep,
    day: Today,
    measure: Annotated[
        str,
        Query(max_length=64, description="A measure's name", examples=["completion_compliance"]),
    ],
    region: Annotated[
        str | None,
        Query(max_length=16, description="A province or kabupaten/kota code", examples=["11"]),
    ] = None,
    first: From = None,
    to: To = None,
    category: CategoryQ = None,
) -> Response:
    return as_json(await service.trends(measure, region, service.period(first, to, category, day)))


# --- ops lists -------------------------------------------------------------------------------
LIST_DESCRIPTIONS = {
    "overdue": "Open complaints with a running deadline past due.",
    "returned": "Complaints returned (bukan wewenang) more than once.",
    "stalled": "Open complaints with no event for `working_days` working days "
    "(default ADUAN_STATS_STALLED_WORKING_DAYS).",
}


def _list_route(which: ListName) -> None:
    @ops_router.get(
        f"/complaints/{which}",
        response_model=Page[OpsComplaint],
        summary=f"List {which} complaints",
        description=LIST_DESCRIPTIONS[which]
        + " Newest first; tracking ids, codes and times only (no personal data). From the "
        "statistics' facts, current to `refreshed_through` of `GET /api/v1/ops/pipeline`. "
        "Ops and admins.",
        responses=RESPONSES,
        dependencies=[Requires(Permission.ops_read)],
        name=f"list_{which}_complaints",
    )
    async def listing(
        service: OpsDep,
        runtime: RuntimeDep,
        cursor: Annotated[
            str | None, Query(description="`next_cursor` of the previous page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        working_days: Annotated[
            int | None, Query(ge=1, le=250, description="Stalled: days without an event")
        ] = None,
    ) -> Page[OpsComplaint]:
        now = await platform_now(runtime.settings, runtime.redis)
        return await service.complaints(
            which, cursor=cursor, limit=limit, now=now, stalled_days=working_days
        )


_list_route("overdue")
_list_route("returned")
_list_route("stalled")


@ops_router.get(
    "/pipeline",
    response_model=PipelineHealth,
    summary="Queue depths, outbox lag, failed events and dead letters",
    description="Jobs waiting per consumer queue; events not yet published and the oldest "
    "one's age; unresolved failed events per consumer (listed at "
    "`GET /api/v1/ops/failed-events`); dead-lettered webhook deliveries per endpoint (the "
    "notifications service keeps them: `deliveries_url`); how far the statistics have read "
    "the events. Ops and admins.",
    responses=RESPONSES,
    dependencies=[Requires(Permission.ops_read)],
)
async def pipeline(service: OpsDep, runtime: RuntimeDep) -> PipelineHealth:
    return await service.health(await platform_now(runtime.settings, runtime.redis))


# --- exports ---------------------------------------------------------------------------------
EXPORT_DESCRIPTION = (
    "Complaints with the listing's filters, oldest first, streamed (a million rows in "
    "constant memory). The privacy rules apply: ops get no personal data (no reporter "
    "columns; a confidential complaint's title, description and address blank); admins get "
    "every column. Ops and admins."
)


def _export_filter(
    region: str | None,
    category: str | None,
    report_type: str | None,
    status: list[Status] | None,
    first: date | None,
    to: date | None,
) -> ExportFilter:
    if first and to and first > to:
        raise ProblemError("validation_failed", errors=[("/from", "period_reversed")])
    return ExportFilter(
        region_prefix=region,
        category=category,
        report_type=report_type,
        statuses=tuple(s.value for s in status or ()),
        created_from=datetime.combine(first, time.min, tzinfo=UTC) if first else None,
        created_to=datetime.combine(to, time.max, tzinfo=UTC) if to else None,
    )


class ExportQuery:
    def __init__(
        self,
        region: Annotated[
            str | None, Query(max_length=16, description="Region code prefix", examples=["11.01"])
        ] = None,
        category: CategoryQ = None,
        report_type: Annotated[str | None, Query(max_length=32, examples=["pengaduan"])] = None,
        status: Annotated[
            list[Status] | None, Query(description="Any of these statuses", examples=[["resolved"]])
        ] = None,
        first: Annotated[
            date | None, Query(alias="from", description="Created on or after (UTC day)")
        ] = None,
        to: Annotated[date | None, Query(description="Created on or before (UTC day)")] = None,
    ) -> None:
        self.filter = _export_filter(region, category, report_type, status, first, to)


Exporter = Annotated[Principal, Requires(Permission.ops_read)]
EXPORT_RESPONSES = {**RESPONSES}


@exports_router.get(
    "/complaints.csv",
    summary="Export complaints as CSV",
    description=EXPORT_DESCRIPTION,
    response_class=StreamingResponse,
    responses={
        **EXPORT_RESPONSES,
        200: {
            "content": {"text/csv": {"example": "tracking_id,created_at,...\r\nADN-7K3QX9P2,..."}},
            "description": "UTF-8 CSV with a header row",
        },
    },
)
async def export_csv(
    principal: Exporter, query: Annotated[ExportQuery, Depends()], runtime: RuntimeDep, day: Today
) -> StreamingResponse:
    return StreamingResponse(
        csv_stream(runtime.sessionmaker, query.filter, audience_of(principal)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_name("csv", day)}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@exports_router.get(
    "/complaints.xlsx",
    summary="Export complaints as XLSX",
    description=EXPORT_DESCRIPTION,
    response_class=StreamingResponse,
    responses={
        **EXPORT_RESPONSES,
        200: {"content": {XLSX: {}}, "description": "One sheet, `pengaduan`, with a header row"},
    },
)
async def export_xlsx(
    principal: Exporter, query: Annotated[ExportQuery, Depends()], runtime: RuntimeDep, day: Today
) -> StreamingResponse:
    return StreamingResponse(
        xlsx_stream(runtime.sessionmaker, query.filter, audience_of(principal)),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{file_name("xlsx", day)}"'},
    )


__all__ = ["Period", "exports_router", "ops_router", "router"]
