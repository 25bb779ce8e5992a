"""The verification queue and its actions (national admins; an agency coordinator for the
region of its agency)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from routing.verification.schemas import (
    ActionOut,
    ArchiveIn,
    HoldIn,
    QueueItem,
    QueueStatus,
    RegionIn,
    RequestInfoIn,
    ResumeIn,
    VerifyIn,
)
from routing.verification.service import VerificationService
from services.deps import SessionDep
from services.domain.tracking import TRACKING_ID_PATTERN
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/api/v1/verification", tags=["verification"])

VerifierDep = Annotated[Principal, Requires(Permission.verification_manage)]
# Eight characters, and a check character since issue 8 (intake/tracking.py).
TrackingId = Annotated[str, Path(pattern=TRACKING_ID_PATTERN, examples=["ADN-7K3QX9P2G"])]


async def get_verification_service(session: SessionDep) -> VerificationService:
    return VerificationService(session)


ServiceDep = Annotated[VerificationService, Depends(get_verification_service)]

VERIFIERS: dict[int | str, dict[str, object]] = {
    **PROBLEM_RESPONSES,
    403: {"model": Problem, "description": "Not a national admin or an agency coordinator"},
}
ACTION: dict[int | str, dict[str, object]] = {
    **VERIFIERS,
    404: {
        "model": Problem,
        "description": "No such complaint, or outside the coordinator's region",
    },
    409: {
        "model": Problem,
        "description": "Not possible in the complaint's status (illegal_transition), or changed "
        "concurrently (conflict)",
    },
}
SCOPE = (
    " National admins act on every complaint; an agency coordinator on those in the region of "
    "its agency (others answer 404). The action is recorded on the timeline with the caller "
    "and its role."
)


@router.get(
    "/complaints",
    response_model=Page[QueueItem],
    summary="List the verification queue",
    description="Complaints waiting for a person to verify them (`status=submitted`, the "
    "default) or held (tunda) during verification (`status=on_hold`), oldest first, each with "
    "the reasons the automatic verification sent it here (`reasons`: category_policy, "
    "channel_policy, incomplete, invalid_region, flagged_words, low_confidence, region_missing: "
    "an Open311 request without a region, for a national admin). National admins "
    "see every region and everything of a complaint; a coordinator sees the region of its "
    "agency, with what the privacy rules let another agency see (no confidential content, no "
    "reporter). Dates filter on the day the complaint was filed (UTC), both ends included.",
    responses=VERIFIERS,
)
async def list_queue(
    principal: VerifierDep,
    service: ServiceDep,
    status: QueueStatus = QueueStatus.submitted,
    reason: Annotated[
        str | None, Query(max_length=32, examples=["flagged_words"], pattern=r"^[a-z_]+$")
    ] = None,
    category: Annotated[str | None, Query(max_length=64, examples=["korupsi_pungli"])] = None,
    region_code: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=r"^\d{2}(\.\d{2}){0,2}(\.\d{4})?$",
            examples=["11.01"],
            description="A region and everything inside it",
        ),
    ] = None,
    since: Annotated[date | None, Query(examples=["2026-11-01"])] = None,
    until: Annotated[date | None, Query(examples=["2026-11-30"])] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="From the previous page's next_cursor")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[QueueItem]:
    return await service.queue(
        principal,
        status=status,
        reason=reason,
        category=category,
        region_prefix=region_code,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )


@router.post(
    "/complaints/{tracking_id}/verify",
    response_model=ActionOut,
    summary="Verify a complaint and disposition it",
    description="Verifies a complaint awaiting verification and dispositions it at once: to "
    "`target_agency_id` when given (active, its scope covering the complaint's region), else "
    "to what the disposition rules choose (the reporter's target agency first when it covers "
    "the region). `category` corrects the category first (a `complaint.classified` event). "
    "Events `complaint.verified` and `complaint.dispositioned` (naming the rule)." + SCOPE,
    responses=ACTION,
)
async def verify(
    tracking_id: TrackingId, body: VerifyIn, principal: VerifierDep, service: ServiceDep
) -> ActionOut:
    return await service.verify(principal, tracking_id, body)


@router.post(
    "/complaints/{tracking_id}/hold",
    response_model=ActionOut,
    summary="Hold a complaint (tunda)",
    description="Puts a complaint awaiting verification on hold until `resume_on` with a "
    "reason (`complaint.held`); `resume` brings it back to where it was, and so does the SLA "
    "sweep by itself on `resume_on` (WIB; `complaint.resumed`, actor `system`)." + SCOPE,
    responses=ACTION,
)
async def hold(
    tracking_id: TrackingId, body: HoldIn, principal: VerifierDep, service: ServiceDep
) -> ActionOut:
    return await service.hold(principal, tracking_id, body)


@router.post(
    "/complaints/{tracking_id}/resume",
    response_model=ActionOut,
    summary="Resume a held complaint",
    description="Brings a complaint held during verification back to the status it was held "
    "in (`complaint.resumed`). A complaint its agency held is resumed from the agency inbox "
    "(409 here)." + SCOPE,
    responses=ACTION,
)
async def resume(
    tracking_id: TrackingId, body: ResumeIn, principal: VerifierDep, service: ServiceDep
) -> ActionOut:
    return await service.resume(principal, tracking_id, body)


@router.post(
    "/complaints/{tracking_id}/archive",
    response_model=ActionOut,
    summary="Archive a complaint",
    description="Closes a complaint awaiting verification with a reason code: `not_actionable`, "
    "`spam`, `not_public_service` (status `archived`), or `duplicate` with `duplicate_of`, the "
    "tracking id of the complaint it repeats (status `duplicate`). Event `complaint.archived` "
    "with the code." + SCOPE,
    responses=ACTION,
)
async def archive(
    tracking_id: TrackingId, body: ArchiveIn, principal: VerifierDep, service: ServiceDep
) -> ActionOut:
    return await service.archive(principal, tracking_id, body)


@router.post(
    "/complaints/{tracking_id}/request-info",
    response_model=ActionOut,
    summary="Ask the reporter for more information",
    description="Asks the reporter a question about a complaint awaiting verification "
    "(`complaint.info_requested`, carrying the question; the status stays `submitted`, the "
    "verification clock pauses until the reporter answers)." + SCOPE,
    responses=ACTION,
)
async def request_info(
    tracking_id: TrackingId, body: RequestInfoIn, principal: VerifierDep, service: ServiceDep
) -> ActionOut:
    return await service.request_info(principal, tracking_id, body)


# Open311 requests without a region (intake/open311/)
@router.post(
    "/complaints/{tracking_id}/region",
    response_model=ActionOut,
    summary="Set the region of a complaint that has none",
    description="Gives a complaint awaiting verification its region: an Open311 request filed "
    "with coordinates or an address only waits in the queue with the reason `region_missing` "
    "until a national admin sets it here. Event `complaint.region_set` (with "
    "`previous_region_code`); then the automatic verification runs again as for a new "
    "complaint: verified and dispositioned at once (`agency` in the answer), or left in the "
    "queue with the reasons that remain. National admins only: a complaint without a region "
    "lies in no coordinator's region. 422 for an unknown region code.",
    responses={
        **ACTION,
        403: {"model": Problem, "description": "Not a national admin"},
        422: {"model": Problem, "description": "Unknown region code (`unknown_region`)"},
    },
)
async def set_region(
    tracking_id: TrackingId,
    body: RegionIn,
    principal: Annotated[Principal, Requires(Permission.verification_region)],
    service: ServiceDep,
) -> ActionOut:
    return await service.set_region(principal, tracking_id, body)
