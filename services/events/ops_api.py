"""Admin routes over failed events, served by the routing service under /api/v1/ops."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.deps import RuntimeDep, SessionDep
from services.events.failures import FailureStatus
from services.events.ops import FailedEventOut, FailedEventService
from services.pagination import Page
from services.policy import Permission, Requires
from services.problems import PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/api/v1/ops", tags=["ops"])


async def get_failed_event_service(session: SessionDep, runtime: RuntimeDep) -> FailedEventService:
    return FailedEventService(session, runtime)


FailedEventServiceDep = Annotated[FailedEventService, Depends(get_failed_event_service)]
ADMIN_ONLY: dict[int | str, dict[str, object]] = {
    **PROBLEM_RESPONSES,
    403: {"model": Problem, "description": "Authenticated, but not ops or an admin"},
}


@router.get(
    "/failed-events",
    response_model=Page[FailedEventOut],
    summary="List events a consumer did not process",
    description=(
        "Events that a consumer (`routing`, `notifications`) has not processed: `retrying` "
        "ones are still being published again by the reconciler; `failed` ones gave up (a bug, "
        "bad data, or too many republishes) and wait for an admin's retry. Oldest first. "
        "Without `status`, every unresolved one. Ops and admins."
    ),
    responses=ADMIN_ONLY,
    dependencies=[Requires(Permission.ops_read)],
)
async def list_failed_events(
    service: FailedEventServiceDep,
    status: Annotated[FailureStatus | None, Query(description="Only this status")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[FailedEventOut]:
    return await service.page(status=status, cursor=cursor, limit=limit)


@router.post(
    "/failed-events/{consumer}/{event_id}/retry",
    response_model=FailedEventOut,
    summary="Publish a failed event again",
    description=(
        "Publishes the event to that consumer again at once (under a fresh job id), and puts "
        "it back under the reconciler's watch. Consumers are idempotent, so a retry of an event "
        "that was in fact processed changes nothing. 409 when it was resolved already. "
        "Admin only."
    ),
    dependencies=[Requires(Permission.ops_act)],
    responses={
        **ADMIN_ONLY,
        404: {"model": Problem, "description": "No such failed event"},
        409: {"model": Problem, "description": "Resolved already"},
    },
)
async def retry_failed_event(
    consumer: Annotated[str, Path(max_length=64, examples=["routing"])],
    event_id: Annotated[uuid.UUID, Path(examples=["019ac7a4-3b9e-7c11-8d2f-5e0a1b2c3d4e"])],
    service: FailedEventServiceDep,
) -> FailedEventOut:
    return await service.retry(consumer, event_id)
