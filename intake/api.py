"""Intake's HTTP routes: thin, they parse, call the service, and shape the answer."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from intake.schemas import (
    CategoryOut,
    ComplaintCreate,
    ComplaintCreated,
    ComplaintOut,
    ComplaintSummary,
)
from intake.service import ComplaintService
from services.deps import SessionDep
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES, Problem, language

router = APIRouter(prefix="/api/v1")
JSON = "application/json"


async def get_complaint_service(session: SessionDep) -> ComplaintService:
    return ComplaintService(session)


ComplaintServiceDep = Annotated[ComplaintService, Depends(get_complaint_service)]
ReporterTokenHeader = Annotated[
    str | None,
    Header(
        alias="X-Reporter-Token",
        max_length=128,
        description="The `reporter_token` of the create answer: see the complaint as its reporter",
    ),
]
TRACKING_ID = Path(
    description="The tracking id given when the complaint was filed", examples=["ADN-7K3QX9P2"]
)


@router.post(
    "/complaints",
    tags=["complaints"],
    status_code=201,
    response_model=ComplaintCreated,
    summary="File a complaint",
    description=(
        "Files a complaint (pengaduan), aspiration (aspirasi) or information request "
        "(permintaan_informasi). The answer holds the tracking id; verification and routing "
        "to the responsible agency follow asynchronously and show up in the timeline. Send an "
        "`Idempotency-Key` so a retried request files the complaint only once: the same key "
        "with the same body replays the first answer (`Idempotent-Replayed: true`); with a "
        "different body it is refused with 422. The answer carries, once, a `reporter_token`: "
        "whoever holds it sees and acts on the complaint as its reporter. A regional system's "
        "key files complaints only in its own regions."
    ),
    responses={
        **PROBLEM_RESPONSES,
        409: {"model": Problem, "description": "Same Idempotency-Key in flight"},
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
    body, replayed = await service.submit(principal, payload, idempotency_key)
    headers = {"Location": f"/api/v1/complaints/{body['tracking_id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    # orjson: this is the platform's hottest answer (FastAPI's own fast path needs a model).
    return Response(orjson.dumps(body), status_code=201, headers=headers, media_type=JSON)


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
    body = await service.get(principal, tracking_id.upper(), reporter_token)
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
