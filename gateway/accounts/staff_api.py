"""Routes of staff accounts (/api/v1/staff): national admins manage all; an agency coordinator
manages its own agency's and offices' coordinators and liaisons."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gateway.accounts.api import FORBIDDEN, PER_ADDRESS, UNAVAILABLE, Responses, problem
from gateway.accounts.schemas import ACCOUNT_ID, StaffCreated, StaffIn, StaffOut, StaffPage
from gateway.deps import StaffServiceDep
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/staff", tags=["staff"], dependencies=PER_ADDRESS)
StaffManager = Annotated[Principal, Requires(Permission.staff_manage)]
StaffId = Annotated[uuid.UUID, Path(description="The staff account's id", examples=[ACCOUNT_ID])]
NOT_THERE: Responses = {404: problem("No such staff account, or not one of your agencies'")}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StaffCreated,
    summary="Create a staff account",
    description=(
        "Admins create national admins (no agency), agency coordinators (admin koordinator) and "
        "office liaisons (admin penghubung), the latter two with their `agency_id`. A "
        "coordinator creates coordinators and liaisons of its own agency and the offices below "
        "it only: another agency, or an admin, is 403. The new account signs in at "
        "`POST /api/v1/auth/token` with the given password. While `ADUAN_ADMIN_TOTP_REQUIRED` "
        "is on, a new admin's answer carries its TOTP secret (once). 409 when the email is "
        "taken."
    ),
    responses={
        **PROBLEM_RESPONSES,
        **FORBIDDEN,
        409: problem("An account with this email exists already"),
        **UNAVAILABLE,
    },
)
async def create_staff(
    body: StaffIn, principal: StaffManager, service: StaffServiceDep, response: Response
) -> StaffCreated:
    response.headers["Cache-Control"] = "no-store"
    return await service.create(principal, body)


@router.get(
    "",
    response_model=StaffPage,
    summary="List staff accounts",
    description=(
        "Admins see every staff account; a coordinator those of its agency and the offices "
        "below it. Oldest first, deactivated ones included (`active`)."
    ),
    responses={**PROBLEM_RESPONSES, **FORBIDDEN, **UNAVAILABLE},
)
async def list_staff(
    principal: StaffManager,
    service: StaffServiceDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Accounts per page")] = 50,
) -> StaffPage:
    return await service.page(principal, cursor=cursor, limit=limit)


@router.get(
    "/{account_id}",
    response_model=StaffOut,
    summary="One staff account",
    description="404 when it does not exist or is outside the caller's agencies.",
    responses={**PROBLEM_RESPONSES, **FORBIDDEN, **NOT_THERE, **UNAVAILABLE},
)
async def get_staff(
    account_id: StaffId, principal: StaffManager, service: StaffServiceDep
) -> StaffOut:
    return await service.get(principal, account_id)


@router.delete(
    "/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Deactivate a staff account",
    description=(
        "The account can no longer sign in, its refresh tokens are revoked, and an access "
        "token it holds is refused (401) within 5 seconds. Deactivating again is fine. You "
        "cannot deactivate yourself (409)."
    ),
    responses={
        **PROBLEM_RESPONSES,
        **FORBIDDEN,
        **NOT_THERE,
        409: problem("That is your own account"),
        **UNAVAILABLE,
    },
)
async def deactivate_staff(
    account_id: StaffId, principal: StaffManager, service: StaffServiceDep
) -> Response:
    await service.deactivate(principal, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
