"""The webhook admin API: register, list, inspect and deactivate endpoints; see deliveries."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from notifications.domain import DeliveryStatus
from notifications.schemas import DeliveryOut, EndpointCreate, EndpointCreated, EndpointOut
from notifications.service import EndpointService
from services.deps import SessionDep, SettingsDep
from services.pagination import Page
from services.policy import Permission, Requires
from services.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, Problem

router = APIRouter(
    prefix="/api/v1", tags=["webhooks"], dependencies=[Requires(Permission.webhook_manage)]
)


async def get_endpoint_service(session: SessionDep, settings: SettingsDep) -> EndpointService:
    return EndpointService(session, settings)


EndpointServiceDep = Annotated[EndpointService, Depends(get_endpoint_service)]
ENDPOINT_ID = Path(
    description="The endpoint's id", examples=["01966b3e-7a1c-7d3e-9f00-2b1f4c8e5a10"]
)
CURSOR = Query(description="`next_cursor` of the previous page")


def _problem(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"example": example}},
    }


ADMIN_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    401: _problem(
        "No admin credentials",
        {
            "type": "https://aduan.go.id/problems/unauthenticated",
            "title": "Authentication required",
            "status": 401,
            "code": "unauthenticated",
            "detail": "an admin API key is required",
        },
    ),
    403: _problem(
        "Authenticated, but not an admin",
        {
            "type": "https://aduan.go.id/problems/forbidden",
            "title": "Not allowed",
            "status": 403,
            "code": "forbidden",
            "detail": "only admins may do this",
        },
    ),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem(
        "No endpoint with this id",
        {
            "type": "https://aduan.go.id/problems/not_found",
            "title": "Not found",
            "status": 404,
            "code": "not_found",
            "detail": "no webhook endpoint 01966b3e-7a1c-7d3e-9f00-2b1f4c8e5a10",
        },
    )
}
INVALID_ENDPOINT = _problem(
    "The URL, a region code or an event type is not acceptable; `errors` points at each",
    {
        "type": "https://aduan.go.id/problems/validation_failed",
        "title": "Request is not valid",
        "status": 422,
        "code": "validation_failed",
        "errors": [
            {
                "pointer": "/url",
                "code": "private_target",
                "message": "Private or loopback addresses are not allowed",
            },
            {
                "pointer": "/region_codes/0",
                "code": "unknown_region",
                "message": "Unknown region code",
            },
            {
                "pointer": "/event_types/0",
                "code": "unknown_event_type",
                "message": "Unknown event type",
            },
        ],
    },
)


@router.post(
    "/webhooks/endpoints",
    status_code=201,
    response_model=EndpointCreated,
    summary="Register a webhook endpoint",
    description=(
        "Registers a URL (typically a regional government's own complaint system) to receive "
        "complaint events as signed webhooks, per the Standard Webhooks spec: each POST carries "
        "`webhook-id` (the event id: the same on every retry, so de-duplicate on it), "
        "`webhook-timestamp` and `webhook-signature`, and a JSON body "
        '`{"type", "timestamp", "data"}`. Verify with any Standard Webhooks library and '
        "the `secret` of this answer, **which is shown only here**. `region_codes` limits the "
        "endpoint to complaints inside those regions, `event_types` to those types; absent or "
        "empty means all. A delivery that does not get a 2xx answer within the timeout is "
        "retried with exponential backoff, then kept as a dead letter. Redirects are not "
        "followed. Admin only."
    ),
    responses={**ADMIN_PROBLEMS, 422: INVALID_ENDPOINT},
)
async def create_endpoint(
    payload: EndpointCreate, service: EndpointServiceDep, response: Response
) -> EndpointCreated:
    created = await service.register(payload)
    response.headers["Location"] = f"/api/v1/webhooks/endpoints/{created.id}"
    return created


@router.get(
    "/webhooks/endpoints",
    response_model=Page[EndpointOut],
    summary="List webhook endpoints",
    description="Registered endpoints, oldest first, without their secrets. Admin only.",
    responses=ADMIN_PROBLEMS,
)
async def list_endpoints(
    service: EndpointServiceDep,
    active: Annotated[
        bool | None, Query(description="Only active (true) or deactivated (false) endpoints")
    ] = None,
    cursor: Annotated[str | None, CURSOR] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[EndpointOut]:
    return await service.page(cursor=cursor, limit=limit, active=active)


@router.get(
    "/webhooks/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    summary="Get a webhook endpoint",
    description="One endpoint and its filters, without its secret. Admin only.",
    responses={**ADMIN_PROBLEMS, **NOT_FOUND},
)
async def get_endpoint(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID], service: EndpointServiceDep
) -> EndpointOut:
    return await service.get(endpoint_id)


@router.delete(
    "/webhooks/endpoints/{endpoint_id}",
    status_code=204,
    response_class=Response,
    summary="Deactivate a webhook endpoint",
    description=(
        "Stops all deliveries to the endpoint, including pending retries (they become "
        "`cancelled`). The endpoint and its delivery history are kept for audit; deleting an "
        "already deactivated endpoint is a no-op. Admin only."
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND},
)
async def delete_endpoint(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID], service: EndpointServiceDep
) -> Response:
    await service.deactivate(endpoint_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="List an endpoint's deliveries",
    description=(
        "Deliveries to the endpoint, newest first: `pending` (waiting for its first or next "
        "attempt, at `next_attempt_at`), `succeeded`, `dead` (every attempt failed) or "
        "`cancelled` (the endpoint was deactivated first), with the attempts made and the "
        "last HTTP status and error, to diagnose a receiver. Admin only."
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND},
)
async def list_deliveries(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID],
    service: EndpointServiceDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status")] = None,
    cursor: Annotated[str | None, CURSOR] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DeliveryOut]:
    return await service.deliveries_page(endpoint_id, cursor=cursor, limit=limit, status=status)
