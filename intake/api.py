"""Intake's HTTP routes: thin, they parse, call the service, and shape the answer."""

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from intake.repository import ListFilter
from intake.schemas import (
    CategoryOut,
    ComplaintCreate,
    ComplaintCreated,
    ComplaintListItem,
    ComplaintOut,
    ComplaintSummary,
    ComplaintTimeline,
    RegionCode,
    ReportType,
)
from intake.service import ComplaintService, filed_between
from services.deps import SessionDep, SettingsDep
from services.domain.lifecycle import Status
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES, Problem, ProblemError, language

router = APIRouter(prefix="/api/v1")
JSON = "application/json"


async def get_complaint_service(session: SessionDep, settings: SettingsDep) -> ComplaintService:
    return ComplaintService(session, settings)


ComplaintServiceDep = Annotated[ComplaintService, Depends(get_complaint_service)]


async def require_json(request: Request) -> None:
    """A create is JSON: anything else is a 415 naming the header, not a puzzling field error
    about the body (FastAPI would try to read a form or text as the model)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != JSON and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise ProblemError(
            "unsupported_media_type",
            f"send the complaint as {JSON}, not {media_type or 'a body without Content-Type'}",
            errors=[("/header/Content-Type", "json_required")],
        )


ReporterTokenHeader = Annotated[
    str | None,
    Header(
        alias="X-Reporter-Token",
        max_length=128,
        description="The `reporter_token` of the create answer: see the complaint as its reporter",
    ),
]
TRACKING_ID = Path(
    max_length=32,
    description="The tracking id given when the complaint was filed: `ADN-` and nine "
    "characters, the last a check character (a mistyped id answers 404 saying so). Case, "
    "spaces and the look-alikes I/L (1) and O (0) do not matter.",
    examples=["ADN-7K3QX9P2G"],
)


@router.post(
    "/complaints",
    tags=["complaints"],
    status_code=201,
    response_model=ComplaintCreated,
    dependencies=[Depends(require_json)],
    summary="File a complaint",
    description=(
        "Files a complaint (pengaduan), aspiration (aspirasi) or information request "
        "(permintaan_informasi). The answer holds the tracking id; verification and routing "
        "to the responsible agency follow asynchronously and show up in the timeline. Send an "
        "`Idempotency-Key` so a retried request files the complaint only once: the same key "
        "with the same body replays the first answer (`Idempotent-Replayed: true`); with a "
        "different body it is refused with 422. The answer carries, once, a `reporter_token`: "
        "whoever holds it sees and acts on the complaint as its reporter. Leave `category` "
        "out and routing classifies the complaint from its text. `possible_duplicates` lists "
        "open complaints nearby that look the same, so an app can offer to follow one "
        "instead.\n\nA regional system's key files complaints only in its own regions "
        "(others: 403) and with `external_ref`, its own id of the complaint: forwarding the "
        "same `external_ref` again answers 200 with the complaint filed the first time "
        "(without the reporter token, handed out once), never a second complaint."
    ),
    responses={
        **PROBLEM_RESPONSES,
        200: {
            "model": ComplaintCreated,
            "description": "A regional system forwarded this external_ref before",
        },
        403: {"model": Problem, "description": "A region outside the regional system's key"},
        409: {"model": Problem, "description": "Same Idempotency-Key in flight"},
        415: {"model": Problem, "description": "The body is not JSON"},
    },
)
async def create_complaint(
    payload: ComplaintCreate,
    principal: Annotated[Principal, Requires(Permission.complaint_create)],
    service: ComplaintServiceDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Client-chosen unique key for this create (e.g. a UUID)",
        ),
    ] = None,
) -> Any:
    done = await service.submit(principal, payload, idempotency_key)
    headers = {"Location": f"/api/v1/complaints/{done.body['tracking_id']}"}
    if done.replayed:
        headers["Idempotent-Replayed"] = "true"
    # orjson: this is the platform's hottest answer (FastAPI's own fast path needs a model).
    return Response(
        orjson.dumps(done.body), status_code=done.status_code, headers=headers, media_type=JSON
    )


@router.get(
    "/complaints",
    tags=["complaints"],
    response_model=Page[ComplaintListItem],
    summary="List and search complaints",
    description=(
        "The public listing, newest first: never a confidential complaint and never who "
        "reported. Filters: `region` (a Kemendagri code prefix: `11` a province, `11.01` a "
        "kabupaten/kota and everything in it), `category`, `report_type`, `status`, and the "
        "filing date range `filed_from`..`filed_to` (whole days, Asia/Jakarta). `q` searches "
        "title and description in Indonesian (PostgreSQL's `indonesian` configuration: "
        '`berlubang` finds `lubang`; web-search syntax: `"jalan rusak" -lampu`, `or`) and '
        "orders by rank. Pages by cursor: pass `next_cursor` back as `cursor`; complaints "
        "filed meanwhile never repeat or shift a page."
    ),
    responses={
        422: {
            "model": Problem,
            "content": {"application/problem+json": {}},
            "description": "A filter or cursor that is not valid",
        }
    },
)
async def list_complaints(
    _: Annotated[Principal, Requires(Permission.complaint_read)],
    service: ComplaintServiceDep,
    region: Annotated[
        RegionCode | None, Query(description="Region code prefix", examples=["11.01"])
    ] = None,
    category: Annotated[str | None, Query(max_length=64, examples=["infrastruktur"])] = None,
    report_type: Annotated[ReportType | None, Query()] = None,
    status: Annotated[Status | None, Query(examples=["in_progress"])] = None,
    filed_from: Annotated[date | None, Query(examples=["2026-11-01"])] = None,
    filed_to: Annotated[date | None, Query(examples=["2026-11-30"])] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Search words", examples=["jalan rusak"]),
    ] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ComplaintListItem]:
    start, end = filed_between(filed_from, filed_to)
    where = ListFilter(
        region=region,
        category=category,
        report_type=report_type.value if report_type else None,
        status=status.value if status else None,
        filed_from=start,
        filed_before=end,
        q=q.strip() or None if q else None,
    )
    return await service.list_public(where, cursor, limit)


@router.get(
    "/complaints/{tracking_id}/timeline",
    tags=["complaints"],
    response_model=ComplaintTimeline,
    summary="A complaint's timeline",
    description=(
        "Everything that happened to the complaint, oldest first, each event with its label "
        "in Indonesian (`label.id`) and English (`label.en`), the status it left and who "
        "acted (a kind and role, never a person). The reasons given are the complaint's "
        "content: for a confidential complaint only its reporter (account or "
        "`X-Reporter-Token`), the assigned agencies and admins see them."
    ),
    responses={404: {"model": Problem, "description": "Unknown or mistyped tracking id"}},
)
async def complaint_timeline(
    tracking_id: Annotated[str, TRACKING_ID],
    principal: Annotated[Principal, Requires(Permission.complaint_read)],
    service: ComplaintServiceDep,
    reporter_token: ReporterTokenHeader = None,
) -> ComplaintTimeline:
    return await service.timeline(principal, tracking_id, reporter_token)


@router.get(
    "/complaints/{tracking_id}",
    tags=["complaints"],
    response_model=ComplaintOut,
    summary="Track a complaint",
    description=(
        "Status, responsible agencies and the full timeline of a complaint, as the privacy "
        "rules let you see it: a confidential complaint's content (title, description, address, "
        "coordinates) only for its reporter (account or `X-Reporter-Token`), the assigned "
        "agencies and admins; the reporter's name for the reporter, admins and, unless the "
        "complaint is anonymous, the assigned agencies; contact details only for the reporter "
        "and admins. `redacted` names what was withheld."
    ),
    responses={404: {"model": Problem, "description": "Unknown tracking id"}},
)
async def get_complaint(
    tracking_id: Annotated[str, TRACKING_ID],
    principal: Annotated[Principal, Requires(Permission.complaint_read)],
    service: ComplaintServiceDep,
    reporter_token: ReporterTokenHeader = None,
) -> Any:
    body = await service.get(principal, tracking_id, reporter_token)
    return Response(orjson.dumps(body), media_type=JSON)


@router.get(
    "/me/complaints",
    tags=["me"],
    response_model=Page[ComplaintSummary],
    summary="My complaints",
    description="The complaints you filed while signed in as a citizen, newest first.",
    responses=PROBLEM_RESPONSES,
)
async def my_complaints(
    principal: Annotated[Principal, Requires(Permission.own_complaints_read)],
    service: ComplaintServiceDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ComplaintSummary]:
    return await service.mine(principal, cursor, limit)


@router.get(
    "/categories",
    response_model=list[CategoryOut],
    tags=["reference"],
    summary="List complaint categories",
    description="Active categories, named in Indonesian or English by Accept-Language.",
)
async def list_categories(
    request: Request,
    service: ComplaintServiceDep,
    _: Annotated[Principal, Requires(Permission.reference_read)],
) -> list[CategoryOut]:
    return await service.categories(language(request))
