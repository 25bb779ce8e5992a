"""The directory's admin routes: agencies (create, edit, deactivate), categories with their
policy, and disposition rules. National admins only (`directory:manage`). The public reads
(`GET /api/v1/agencies`, `GET /api/v1/categories`) are routing/api.py's and intake's."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from routing.directory.schemas import (
    AgencyCreate,
    AgencyOut,
    AgencyUpdate,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
)
from routing.directory.service import DirectoryService
from services.deps import SessionDep
from services.pagination import Page
from services.policy import Permission, Requires
from services.problems import PROBLEM_RESPONSES, Problem

ADMIN = [Requires(Permission.directory_manage)]
ADMIN_ONLY: dict[int | str, dict[str, object]] = {
    **PROBLEM_RESPONSES,
    403: {"model": Problem, "description": "Authenticated, but not a national admin"},
}
CONFLICT: dict[int | str, dict[str, object]] = {
    409: {"model": Problem, "description": "The code is taken"}
}
AGENCY_PATH = Annotated[uuid.UUID, Path(examples=["d8322320-8b0c-5d1e-8742-a3450efdcf60"])]
CATEGORY_PATH = Annotated[str, Path(max_length=64, examples=["infrastruktur"])]
RULE_PATH = Annotated[uuid.UUID, Path(examples=["6f1c7a52-0c1d-5d8e-9a51-2f0b7e3c4d10"])]

agencies_router = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])
router = APIRouter(prefix="/api/v1/directory", tags=["directory"])


async def get_directory_service(session: SessionDep) -> DirectoryService:
    return DirectoryService(session)


DirectoryServiceDep = Annotated[DirectoryService, Depends(get_directory_service)]


@agencies_router.post(
    "",
    response_model=AgencyOut,
    status_code=201,
    summary="Create an agency",
    description="Adds an agency to the directory: a ministry or national agency, a government, "
    "or an office (OPD, `kind: opd`, with its `office_type`) under a government. Its id is "
    "derived from its code (uuid5), as the seed's are; the time zone defaults to the "
    "province's (WIB, WITA, WIT). 409 when the code is taken. National admins only.",
    dependencies=ADMIN,
    responses={**ADMIN_ONLY, **CONFLICT},
)
async def create_agency(body: AgencyCreate, service: DirectoryServiceDep) -> AgencyOut:
    return await service.create_agency(body)


@agencies_router.patch(
    "/{agency_id}",
    response_model=AgencyOut,
    summary="Edit an agency",
    description="Changes the fields sent: name, parent (never below itself), office type, time "
    "zone, contacts (replaced whole), active. `aduan seed` resets the name, parent, time zone "
    "and office type of the agencies it seeds; contacts and `active` stay as admins set them. "
    "Routing sees the change within a minute. National admins only.",
    dependencies=ADMIN,
    responses={**ADMIN_ONLY, 404: {"model": Problem, "description": "Unknown agency"}},
)
async def update_agency(
    agency_id: AGENCY_PATH, body: AgencyUpdate, service: DirectoryServiceDep
) -> AgencyOut:
    return await service.update_agency(agency_id, body)


@agencies_router.post(
    "/{agency_id}/deactivate",
    response_model=AgencyOut,
    summary="Deactivate an agency",
    description="The agency receives no new complaints (disposition skips it); what it holds "
    "stays with it. `PATCH` with `active: true` brings it back. Idempotent. National admins "
    "only.",
    dependencies=ADMIN,
    responses={**ADMIN_ONLY, 404: {"model": Problem, "description": "Unknown agency"}},
)
async def deactivate_agency(agency_id: AGENCY_PATH, service: DirectoryServiceDep) -> AgencyOut:
    return await service.deactivate_agency(agency_id)


@router.get(
    "/categories",
    response_model=Page[CategoryOut],
    summary="List categories with their policy",
    description="Every category, active or not, with what routing does with it: the office "
    "type that handles it, its ministry, automatic or manual verification, the classifier's "
    "keywords and the completion deadline override. One page. National admins only.",
    dependencies=ADMIN,
    responses=ADMIN_ONLY,
)
async def list_categories(service: DirectoryServiceDep) -> Page[CategoryOut]:
    return await service.list_categories()


@router.post(
    "/categories",
    response_model=CategoryOut,
    status_code=201,
    summary="Create a category",
    description="A new category and its policy. Keywords are stored stemmed (PySastrawi), as "
    "the classifier compares stems. Reporters can choose it at once (intake's "
    "`GET /api/v1/categories`); add a disposition rule for it, or complaints in it find no "
    "agency. 409 when the code is taken. National admins only.",
    dependencies=ADMIN,
    responses={**ADMIN_ONLY, **CONFLICT},
)
async def create_category(body: CategoryCreate, service: DirectoryServiceDep) -> CategoryOut:
    return await service.create_category(body)


@router.patch(
    "/categories/{code}",
    response_model=CategoryOut,
    summary="Edit a category's names or policy",
    description="Changes the fields sent; `active: false` hides it from reporters. A policy "
    "set here is kept by `aduan seed`. Routing sees the change within a minute. National "
    "admins only.",
    dependencies=ADMIN,
    responses={**ADMIN_ONLY, 404: {"model": Problem, "description": "Unknown category"}},
)
async def update_category(
    code: CATEGORY_PATH, body: CategoryUpdate, service: DirectoryServiceDep
) -> CategoryOut:
    return await service.update_category(code, body)


@router.get(
    "/rules",
    response_model=Page[RuleOut],
    summary="List disposition rules",
    description="The rules `(report type?, category, region prefix?) → level or agency`, by "
    "category, then priority. Disposition takes the active rule with the longest matching "
    "region prefix, then the lowest priority; the next ones are the candidates after a "
    "return. National admins only.",
    dependencies=ADMIN,
    responses=ADMIN_ONLY,
)
async def list_rules(
    service: DirectoryServiceDep,
    category: Annotated[str | None, Query(max_length=64, examples=["infrastruktur"])] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[RuleOut]:
    return await service.list_rules(category=category, cursor=cursor, limit=limit)


@router.post(
    "/rules",
    response_model=RuleOut,
    status_code=201,
    summary="Create a disposition rule",
    description="A rule sending a category's complaints (of one report type, in one region, "
    "if given) to a level relative to the complaint's region or to one agency. `opd` needs "
    "`office_type`, `agency` needs `agency_id`. National admins only.",
    dependencies=ADMIN,
    responses=ADMIN_ONLY,
)
async def create_rule(body: RuleCreate, service: DirectoryServiceDep) -> RuleOut:
    return await service.create_rule(body)


@router.patch(
    "/rules/{rule_id}",
    response_model=RuleOut,
    summary="Edit a disposition rule",
    description="Changes the fields sent (the category stays); `active: false` switches it "
    "off, which is how a default rule is turned off for good. National admins only.",
    dependencies=ADMIN,
    responses={**ADMIN_ONLY, 404: {"model": Problem, "description": "Unknown rule"}},
)
async def update_rule(
    rule_id: RULE_PATH, body: RuleUpdate, service: DirectoryServiceDep
) -> RuleOut:
    return await service.update_rule(rule_id, body)


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    summary="Delete a disposition rule",
    description="Removes the rule. A default rule (from `aduan seed`) comes back with the next "
    'seed: switch it off with `PATCH … {"active": false}` instead. National admins only.',
    dependencies=ADMIN,
    responses={**ADMIN_ONLY, 404: {"model": Problem, "description": "Unknown rule"}},
)
async def delete_rule(rule_id: RULE_PATH, service: DirectoryServiceDep) -> Response:
    await service.delete_rule(rule_id)
    return Response(status_code=204)
