"""The agency inbox's HTTP routes (thin: parse, call the service, shape the answer)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from routing.inbox.repository import InboxFilter
from routing.inbox.schemas import (
    AcceptIn,
    DelegateIn,
    FollowUpIn,
    HoldIn,
    InboxComplaint,
    InboxItem,
    ResolveIn,
    ResumeIn,
    ReturnIn,
    ReturnOut,
)
from routing.inbox.service import InboxService
from services.deps import RuntimeDep, SessionDep
from services.domain.lifecycle import Status
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/api/v1/agency/complaints", tags=["agency inbox"])

TRACKING_ID = Path(
    max_length=16, description="The complaint's tracking id", examples=["ADN-7K3QX9P2"]
)
Caller = Annotated[Principal, Requires(Permission.agency_inbox)]
TrackingId = Annotated[str, TRACKING_ID]

SCOPE = (
    " Staff of an agency (coordinator, liaison) and its API key act on complaints assigned to "
    "their agency and the offices below it; national admins on every agency's. A complaint "
    "outside your agencies answers 404, as if it did not exist."
)
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    403: {"model": Problem, "description": "Not agency staff, an agency key or an admin"},
}
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **READ_RESPONSES,
    404: {"model": Problem, "description": "No such complaint in your inbox"},
    409: {
        "model": Problem,
        "description": "The complaint's status (or your assignment's) does not allow it, or "
        "someone changed it meanwhile",
    },
}


async def get_inbox_service(session: SessionDep, runtime: RuntimeDep) -> InboxService:
    return InboxService(session, runtime)


InboxServiceDep = Annotated[InboxService, Depends(get_inbox_service)]


@router.get(
    "",
    response_model=Page[InboxItem],
    summary="List the agency's complaints",
    description="Complaints with an active assignment (handler or escalation) to your agency or "
    "an office below it, newest first, with your assignments' handling status and every "
    "running deadline's due time. `overdue`: a running (not paused) clock is past due." + SCOPE,
    responses=READ_RESPONSES,
)
async def list_inbox(
    principal: Caller,
    service: InboxServiceDep,
    status: Annotated[
        list[Status] | None,
        Query(description="Any of these statuses", examples=[["dispositioned"]]),
    ] = None,
    overdue: Annotated[bool | None, Query(description="Only (or no) overdue complaints")] = None,
    category: Annotated[str | None, Query(max_length=64, examples=["infrastruktur"])] = None,
    region_code: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=r"^\d{2}(\.\d{2}){0,2}(\.\d{4})?$",
            description="A region and everything inside it",
            examples=["11.01"],
        ),
    ] = None,
    created_from: Annotated[
        date | None, Query(description="Filed on or after (UTC day)", examples=["2026-11-01"])
    ] = None,
    created_to: Annotated[
        date | None, Query(description="Filed on or before (UTC day)", examples=["2026-11-30"])
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[InboxItem]:
    where = InboxFilter(
        agency_ids=service.scope(principal),
        statuses=[s.value for s in status or ()],
        overdue=overdue,
        category=category,
        region_prefix=region_code,
        created_from=created_from,
        created_to=created_to,
    )
    return await service.list(principal, where, cursor, limit)


@router.get(
    "/{tracking_id}",
    response_model=InboxComplaint,
    summary="Get a complaint of the agency",
    description="The complaint as its assigned agency sees it: the content even when "
    "confidential, the reporter's name unless anonymous, never contact details (admins see "
    "everything); all its active assignments, its running clocks, how often it was returned, "
    "and the timeline with who acted in which role and why." + SCOPE,
    responses={**READ_RESPONSES, 404: {"model": Problem, "description": "Not in your inbox"}},
)
async def get_inbox_complaint(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep
) -> dict[str, Any]:
    return await service.get(principal, tracking_id)


@router.post(
    "/{tracking_id}/accept",
    response_model=InboxComplaint,
    summary="Accept a complaint",
    description="Your agency takes it on: a dispositioned complaint goes to `in_progress`, your "
    "assignment to `accepted` (event `complaint.accepted`)." + SCOPE,
    responses=ACTION_RESPONSES,
)
async def accept(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep, body: AcceptIn
) -> dict[str, Any]:
    return await service.accept(principal, tracking_id, body.reason)


@router.post(
    "/{tracking_id}/follow-ups",
    response_model=InboxComplaint,
    summary="Give a follow-up (tindak lanjut)",
    description="Tells the reporter what was done: the complaint goes to `responded` (the "
    "reporter's reply window starts), your assignment to `responded` (event "
    "`complaint.followed_up`). The text is in the event, and so in webhooks, only when the "
    "complaint is not confidential." + SCOPE,
    responses=ACTION_RESPONSES,
)
async def follow_up(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep, body: FollowUpIn
) -> dict[str, Any]:
    return await service.follow_up(principal, tracking_id, body)


@router.post(
    "/{tracking_id}/resolve",
    response_model=InboxComplaint,
    summary="Resolve a complaint",
    description="The complaint is done: `resolved`, your assignment `resolved` (event "
    "`complaint.resolved`)." + SCOPE,
    responses=ACTION_RESPONSES,
)
async def resolve(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep, body: ResolveIn
) -> dict[str, Any]:
    return await service.resolve(principal, tracking_id, body)


@router.post(
    "/{tracking_id}/return",
    response_model=ReturnOut,
    summary="Return a complaint (bukan wewenang)",
    description="Not your agency's business: your assignment ends (`returned`) and the return "
    "is counted. With `agency_id` the complaint is dispositioned to that agency; without one "
    "it goes back to the coordinator that delegated it to you, else to the next candidate of "
    "the disposition rules (never an agency that returned it), else to the verification "
    "queue (`submitted`). Events `complaint.returned`, then `complaint.dispositioned` or "
    "`complaint.verification_required`, each with the reason and from/to agency. The answer "
    "says where it went: it may have left your inbox." + SCOPE,
    responses=ACTION_RESPONSES,
)
async def return_complaint(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep, body: ReturnIn
) -> ReturnOut:
    return await service.return_(principal, tracking_id, body)


@router.post(
    "/{tracking_id}/delegate",
    response_model=InboxComplaint,
    summary="Delegate a complaint to an office",
    description="A coordinator (or an admin) hands the complaint to one of its agency's "
    "offices: the office gets a handler assignment, yours becomes `delegated` (event "
    "`complaint.delegated`). Liaisons and agency keys get 403." + SCOPE,
    responses={
        **ACTION_RESPONSES,
        403: {"model": Problem, "description": "Not a coordinator or an admin"},
    },
)
async def delegate(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep, body: DelegateIn
) -> dict[str, Any]:
    return await service.delegate(principal, tracking_id, body)


@router.post(
    "/{tracking_id}/hold",
    response_model=InboxComplaint,
    summary="Put a complaint on hold (tunda)",
    description="`on_hold` until `resume_on` with a reason (event `complaint.held`); its SLA "
    "clocks pause. Resuming returns it to the status it was held in: the agency's `resume`, or "
    "by itself on `resume_on` (WIB), when the SLA sweep resumes it (`complaint.resumed`, actor "
    "`system`)." + SCOPE,
    responses=ACTION_RESPONSES,
)
async def hold(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep, body: HoldIn
) -> dict[str, Any]:
    return await service.hold(principal, tracking_id, body)


@router.post(
    "/{tracking_id}/resume",
    response_model=InboxComplaint,
    summary="Resume a held complaint",
    description="Back to the status it was held in (event `complaint.resumed`)." + SCOPE,
    responses=ACTION_RESPONSES,
)
async def resume(
    tracking_id: TrackingId, principal: Caller, service: InboxServiceDep, body: ResumeIn
) -> dict[str, Any]:
    return await service.resume(principal, tracking_id, body.reason)
