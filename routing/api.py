"""Routing's HTTP routes: the agency directory."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from routing.repository import AgencyRepository
from routing.schemas import AgencyOut
from services.deps import SessionDep
from services.pagination import Page, decode_cursor, encode_cursor
from services.policy import Permission, Requires
from services.problems import PROBLEM_RESPONSES, Problem, ProblemError

router = APIRouter(
    prefix="/api/v1", tags=["agencies"], dependencies=[Requires(Permission.reference_read)]
)


async def get_agency_repository(session: SessionDep) -> AgencyRepository:
    return AgencyRepository(session)


AgencyRepositoryDep = Annotated[AgencyRepository, Depends(get_agency_repository)]


@router.get(
    "/agencies",
    response_model=Page[AgencyOut],
    summary="List agencies",
    description="The agency directory (ministries, province and kabupaten/kota governments and "
    "their offices), ordered by code, filtered by region (a region and everything inside it), "
    "kind, office type and parent. Each shows its parent, office type, contacts, time zone and "
    "whether it is active.",
    responses=PROBLEM_RESPONSES,
)
async def list_agencies(
    agencies: AgencyRepositoryDep,
    region_code: Annotated[str | None, Query(examples=["11"], max_length=16)] = None,
    kind: Literal["ministry", "province", "regency", "opd"] | None = None,
    office_type: Annotated[str | None, Query(max_length=40, examples=["dinas_pupr"])] = None,
    parent_id: Annotated[uuid.UUID | None, Query(description="Only the agencies below it")] = None,
    cursor: Annotated[str | None, Query(description="From the previous page's next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AgencyOut]:
    rows = await agencies.page(
        after=decode_cursor(cursor),
        limit=limit + 1,
        region_code=region_code,
        kind=kind,
        office_type=office_type,
        parent_id=parent_id,
    )
    items = [AgencyOut.model_validate(a) for a in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].code) if len(rows) > limit else None
    return Page[AgencyOut](items=items, next_cursor=next_cursor)


@router.get(
    "/agencies/{agency_id}",
    response_model=AgencyOut,
    summary="Get an agency",
    description="One agency of the directory (inactive ones too), with its parent in the "
    "escalation hierarchy (OPD → kabupaten/kota → province → Kemendagri), office type, "
    "contacts and time zone.",
    responses={404: {"model": Problem, "description": "Unknown agency"}},
)
async def get_agency(
    agency_id: Annotated[uuid.UUID, Path(examples=["d8322320-8b0c-5d1e-8742-a3450efdcf60"])],
    agencies: AgencyRepositoryDep,
) -> AgencyOut:
    agency = await agencies.get(agency_id)
    if agency is None:
        raise ProblemError("not_found", f"no agency {agency_id}")
    return AgencyOut.model_validate(agency)
