"""An account's notification preferences: /api/v1/me/notification-preferences (the gateway
routes it here). Thin: parse, call the service, shape the answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from notifications.people.preferences import PreferencesService
from notifications.people.schemas import PreferencesIn, PreferencesOut
from services.deps import SessionDep
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/api/v1/me", tags=["me"])
Owner = Annotated[Principal, Requires(Permission.notification_preferences_own)]


async def get_preferences_service(session: SessionDep) -> PreferencesService:
    return PreferencesService(session)


ServiceDep = Annotated[PreferencesService, Depends(get_preferences_service)]


def _problem(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"example": example}},
    }


RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    401: _problem(
        "Not signed in",
        {
            "type": "https://aduan.go.id/problems/unauthenticated",
            "title": "Authentication required",
            "status": 401,
            "code": "unauthenticated",
            "detail": "sign in or send an API key to do this",
        },
    ),
    403: _problem(
        "An API key, not an account",
        {
            "type": "https://aduan.go.id/problems/forbidden",
            "title": "Not allowed",
            "status": 403,
            "code": "forbidden",
            "detail": "only people signed in with an account have preferences",
        },
    ),
}
INVALID = _problem(
    "A field is not acceptable; `errors` points at each",
    {
        "type": "https://aduan.go.id/problems/validation_failed",
        "title": "Request is not valid",
        "status": 422,
        "code": "validation_failed",
        "errors": [
            {
                "pointer": "/daily_digest",
                "code": "staff_only",
                "message": "Only for agency staff",
            }
        ],
    },
)


@router.get(
    "/notification-preferences",
    response_model=PreferencesOut,
    summary="Your notification preferences",
    description=(
        "How Aduan tells you what happens to your complaints (and those you follow): which "
        "channels (email to your account's address, push to your devices' FCM tokens, SMS to "
        "your phone) and in which language (`id` by default, or `en`). Until you set them "
        "these are the defaults (email and push on, SMS off, Indonesian), with `updated_at` "
        "null. Agency staff also choose the daily digest. Accounts only: API keys get 403."
    ),
    responses=RESPONSES,
)
async def get_preferences(principal: Owner, service: ServiceDep) -> PreferencesOut:
    return await service.get(principal)


@router.put(
    "/notification-preferences",
    response_model=PreferencesOut,
    summary="Set your notification preferences",
    description=(
        "Replaces your preferences (a field left out takes its default). `push_tokens`: the "
        "FCM registration tokens of your devices, at most 10; repeats are dropped. "
        "`daily_digest` (a morning email of what your agency has due within 2 working days) "
        "is for agency coordinators and liaisons only (422 `staff_only` otherwise). A channel "
        "the platform has not configured is skipped whatever you choose."
    ),
    responses={**RESPONSES, 422: INVALID},
)
async def put_preferences(
    body: PreferencesIn, principal: Owner, service: ServiceDep
) -> PreferencesOut:
    return await service.put(principal, body)
