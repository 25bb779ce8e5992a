"""Intake's HTTP routes: thin, they parse, call the service, and shape the answer."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Request, Response

from intake.schemas import CategoryOut, ComplaintCreate, ComplaintOut
from intake.service import ComplaintService
from services.deps import PrincipalDep, SessionDep
from services.problems import PROBLEM_RESPONSES, Problem, language

router = APIRouter(prefix="/api/v1")
JSON = "application/json"


async def get_complaint_service(session: SessionDep) -> ComplaintService:
    return ComplaintService(session)


ComplaintServiceDep = Annotated[ComplaintService, Depends(get_complaint_service)]
TRACKING_ID = Path(
    description="The tracking id given when the complaint was filed", examples=["ADN-7K3QX9P2"]
)


@router.post(
    "/complaints",
    tags=["complaints"],
    status_code=201,
    response_model=ComplaintOut,
    summary="File a complaint",
    description=(
        "Files a complaint (pengaduan), aspiration (aspirasi) or information request "
        "(permintaan_informasi). The answer holds the tracking id; verification and routing "
        "to the responsible agency follow asynchronously and show up in the timeline. Send an "
        "`Idempotency-Key` so a retried request files the complaint only once: the same key "
        "with the same body replays the first answer (`Idempotent-Replayed: true`); with a "
        "different body it is refused with 422."
    ),
    responses={
        **PROBLEM_RESPONSES,
        409: {"model": Problem, "description": "Same Idempotency-Key in flight"},
    },
)
async def create_complaint(
    payload: ComplaintCreate,
    principal: PrincipalDep,
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
    description="Status, responsible agencies and the full timeline of a complaint. "
    "The reporter's contact details are never shown.",
    responses={404: {"model": Problem, "description": "Unknown tracking id"}},
)
async def get_complaint(
    tracking_id: Annotated[str, TRACKING_ID], service: ComplaintServiceDep
) -> ComplaintOut:
    return await service.get(tracking_id.upper())


@router.get(
    "/categories",
    response_model=list[CategoryOut],
    tags=["reference"],
    summary="List complaint categories",
    description="Active categories, named in Indonesian or English by Accept-Language.",
)
async def list_categories(request: Request, service: ComplaintServiceDep) -> list[CategoryOut]:
    return await service.categories(language(request))
