"""The webhook API: owners (admins, agencies, regional systems) manage their endpoints, rotate
secrets, ping, see deliveries and their attempts, redeliver; the event-type catalogue."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from notifications.domain import DeliveryStatus
from notifications.payloads import catalogue
from notifications.schemas import (
    DeliveryDetail,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    EventTypeOut,
    PingOut,
    RecoverIn,
    RecoverOut,
    SecretRotated,
)
from notifications.service import EndpointService
from notifications.targets import Lookup, resolve
from services.deps import SessionDep, SettingsDep
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
Caller = Annotated[Principal, Requires(Permission.webhook_manage)]


async def get_lookup() -> Lookup:
    """DNS for the SSRF check at registration (tests override it with a resolver they control)."""
    return resolve


async def get_endpoint_service(
    session: SessionDep, settings: SettingsDep, lookup: Annotated[Lookup, Depends(get_lookup)]
) -> EndpointService:
    return EndpointService(session, settings, lookup)


EndpointServiceDep = Annotated[EndpointService, Depends(get_endpoint_service)]
ENDPOINT_ID = Path(
    description="The endpoint's id", examples=["01966b3e-7a1c-7d3e-9f00-2b1f4c8e5a10"]
)
DELIVERY_ID = Path(
    description="The delivery's id", examples=["01966b3f-0c2d-7e11-8a00-4d2e6f8a9b20"]
)
WHO = (
    " Admins manage every endpoint; an agency (its coordinators or its API key) and a regional "
    "system (its API key) only their own: another's answers 404."
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
        "No credentials",
        {
            "type": "https://aduan.go.id/problems/unauthenticated",
            "title": "Authentication required",
            "status": 401,
            "code": "unauthenticated",
            "detail": "sign in or send an API key to do this",
        },
    ),
    403: _problem(
        "Authenticated, but the role may not manage webhooks (citizens, liaisons, ops)",
        {
            "type": "https://aduan.go.id/problems/forbidden",
            "title": "Not allowed",
            "status": 403,
            "code": "forbidden",
            "detail": "the role citizen may not do this (webhook:manage)",
        },
    ),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem(
        "No endpoint with this id, or not one of yours",
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
                "pointer": "/agency_ids/0",
                "code": "out_of_scope",
                "message": "Outside your own scope",
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


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _problem(
        "The endpoint is deleted or disabled, or the delivery is still pending",
        {
            "type": "https://aduan.go.id/problems/conflict",
            "title": "Conflict",
            "status": 409,
            "code": "conflict",
            "detail": "webhook endpoint 01966b3e-7a1c-7d3e-9f00-2b1f4c8e5a10 is disabled",
        },
    )
}
DELIVERY_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem(
        "No delivery with this id, or not to one of your endpoints",
        {
            "type": "https://aduan.go.id/problems/not_found",
            "title": "Not found",
            "status": 404,
            "code": "not_found",
            "detail": "no webhook delivery 01966b3f-0c2d-7e11-8a00-4d2e6f8a9b20",
        },
    )
}
STATUSES = (
    "`pending` (waiting for its first or next attempt, at `next_attempt_at`), `succeeded`, "
    "`dead` (every attempt failed: a dead letter) or `cancelled` (the endpoint was disabled "
    "or deleted first)"
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
        '`{"type", "timestamp", "sequence", "data"}` '
        "(schemas: `GET /api/v1/webhooks/event-types`). "
        "Verify with any Standard Webhooks library and the `secret` of this answer, **which is "
        "shown only here** (it is stored encrypted). The URL must be https with a public host "
        "(checked now, and again at every connection). Scope: `region_codes` and `agency_ids` "
        "(inside the caller's own; by default all of it), `event_types` (empty: every complaint "
        "event). A failed delivery is retried on the retry schedule (by default 5 s, 5 min, "
        "30 min, 2 h, 5 h, 10 h, 10 h), then kept as a dead letter; redirects are not followed."
        + WHO
    ),
    responses={**ADMIN_PROBLEMS, 422: INVALID_ENDPOINT},
)
async def create_endpoint(
    payload: EndpointCreate, principal: Caller, service: EndpointServiceDep, response: Response
) -> EndpointCreated:
    created = await service.register(principal, payload)
    response.headers["Location"] = f"/api/v1/webhooks/endpoints/{created.id}"
    return created


@router.get(
    "/webhooks/endpoints",
    response_model=Page[EndpointOut],
    summary="List webhook endpoints",
    description="The caller's endpoints (admins: every one), oldest first, without secrets." + WHO,
    responses=ADMIN_PROBLEMS,
)
async def list_endpoints(
    principal: Caller,
    service: EndpointServiceDep,
    active: Annotated[
        bool | None, Query(description="Only enabled (true) or disabled (false) endpoints")
    ] = None,
    cursor: Annotated[str | None, CURSOR] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[EndpointOut]:
    return await service.page(principal, cursor=cursor, limit=limit, active=active)


@router.get(
    "/webhooks/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    summary="Get a webhook endpoint",
    description="One endpoint, its scope and its health (last success, failing since), without "
    "its secret." + WHO,
    responses={**ADMIN_PROBLEMS, **NOT_FOUND},
)
async def get_endpoint(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID], principal: Caller, service: EndpointServiceDep
) -> EndpointOut:
    return await service.get(principal, endpoint_id)


@router.patch(
    "/webhooks/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change a webhook endpoint",
    description=(
        "Changes the fields sent (url, description, region_codes, agency_ids, event_types, "
        "enabled), checked as at registration. `enabled: false` stops deliveries and cancels "
        "the pending ones; `enabled: true` resumes an endpoint, also one Aduan disabled after "
        "a 410 or days without a success (then `recover` sends what was missed)." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND, **CONFLICT, 422: INVALID_ENDPOINT},
)
async def update_endpoint(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID],
    payload: EndpointUpdate,
    principal: Caller,
    service: EndpointServiceDep,
) -> EndpointOut:
    return await service.update(principal, endpoint_id, payload)


@router.delete(
    "/webhooks/endpoints/{endpoint_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a webhook endpoint",
    description=(
        "Stops all deliveries to the endpoint for good, including pending retries (they become "
        "`cancelled`). The endpoint and its delivery history are kept for audit (listed as "
        "disabled, reason `deleted`); deleting twice is a no-op." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND},
)
async def delete_endpoint(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID], principal: Caller, service: EndpointServiceDep
) -> Response:
    await service.deactivate(principal, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    summary="Rotate an endpoint's signing secret",
    description=(
        "Makes a new secret, shown only in this answer. During the grace period "
        "(ADUAN_WEBHOOK_SECRET_GRACE_SECONDS, a day by default) every delivery carries two "
        "signatures in `webhook-signature`, space-separated, one per secret: a receiver that "
        "still holds the old secret verifies, and so does one that holds the new. Switch your "
        "receiver to the new secret before `previous_secret_expires_at`." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND, **CONFLICT},
)
async def rotate_secret(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID], principal: Caller, service: EndpointServiceDep
) -> SecretRotated:
    return await service.rotate_secret(principal, endpoint_id)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/ping",
    status_code=202,
    response_model=PingOut,
    summary="Send a test event",
    description=(
        "Delivers a `webhook.ping` event to this endpoint only, signed and retried like any "
        "other: check your receiver end to end, then follow the delivery and its attempts at "
        "`GET /api/v1/webhooks/deliveries/{delivery_id}`." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND, **CONFLICT},
)
async def ping_endpoint(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID], principal: Caller, service: EndpointServiceDep
) -> PingOut:
    return await service.ping(principal, endpoint_id)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/recover",
    response_model=RecoverOut,
    summary="Redeliver everything that failed since a time",
    description=(
        "Every delivery to the endpoint created at or after `since` that is `dead` or "
        "`cancelled` starts over (pending now, the same `webhook-id`): after an outage of your "
        "receiver, or once an endpoint Aduan disabled is enabled again." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND, **CONFLICT},
)
async def recover_endpoint(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID],
    payload: RecoverIn,
    principal: Caller,
    service: EndpointServiceDep,
) -> RecoverOut:
    return await service.recover(principal, endpoint_id, payload.since)


@router.get(
    "/webhooks/endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="List an endpoint's deliveries",
    description=(
        f"Deliveries to the endpoint, newest first: {STATUSES}, with the attempts made and the "
        "last HTTP status and error, to diagnose a receiver." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND},
)
async def list_endpoint_deliveries(
    endpoint_id: Annotated[uuid.UUID, ENDPOINT_ID],
    principal: Caller,
    service: EndpointServiceDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status")] = None,
    cursor: Annotated[str | None, CURSOR] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DeliveryOut]:
    return await service.deliveries_page(
        principal, endpoint_id=endpoint_id, cursor=cursor, limit=limit, status=status
    )


@router.get(
    "/webhooks/deliveries",
    response_model=Page[DeliveryOut],
    summary="List deliveries",
    description=(
        f"Deliveries to the caller's endpoints (admins: all), newest first: {STATUSES}. "
        "`status=dead` lists the dead letters; `endpoint_id` naming no endpoint of the caller's "
        "answers 404." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **NOT_FOUND},
)
async def list_deliveries(
    principal: Caller,
    service: EndpointServiceDep,
    endpoint_id: Annotated[uuid.UUID | None, Query(description="Only to this endpoint")] = None,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status")] = None,
    event_type: Annotated[
        str | None,
        Query(max_length=64, description="Only this event type", examples=["complaint.verified"]),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Only deliveries created at or after this time")
    ] = None,
    cursor: Annotated[str | None, CURSOR] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DeliveryOut]:
    return await service.deliveries_page(
        principal,
        endpoint_id=endpoint_id,
        cursor=cursor,
        limit=limit,
        status=status,
        event_type=event_type,
        since=since,
    )


@router.get(
    "/webhooks/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="Get a delivery and its attempts",
    description=(
        "One delivery with every attempt: when, the HTTP status (null: no answer), the latency "
        "and the first 2 KB of the receiver's answer." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **DELIVERY_NOT_FOUND},
)
async def get_delivery(
    delivery_id: Annotated[uuid.UUID, DELIVERY_ID], principal: Caller, service: EndpointServiceDep
) -> DeliveryDetail:
    return await service.delivery(principal, delivery_id)


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    summary="Redeliver one delivery",
    description=(
        "A delivery that is not pending (succeeded, dead or cancelled) starts over: pending "
        "now, attempts counted afresh (earlier ones stay listed), the same `webhook-id`." + WHO
    ),
    responses={**ADMIN_PROBLEMS, **DELIVERY_NOT_FOUND, **CONFLICT},
)
async def redeliver(
    delivery_id: Annotated[uuid.UUID, DELIVERY_ID], principal: Caller, service: EndpointServiceDep
) -> DeliveryOut:
    return await service.redeliver(principal, delivery_id)


@router.get(
    "/webhooks/event-types",
    response_model=list[EventTypeOut],
    summary="The event types and their payload schemas",
    description=(
        "Every event type a webhook can carry, with the JSON Schema of its whole body "
        "(`type`, `timestamp`, `sequence`, `data`), generated from the models that build the "
        "bodies. Data objects allow extra fields: new details may appear before they are "
        "listed here." + WHO
    ),
    responses=ADMIN_PROBLEMS,
    dependencies=[Requires(Permission.webhook_manage)],
)
async def event_types() -> list[EventTypeOut]:
    return [EventTypeOut.model_validate(entry) for entry in catalogue()]
