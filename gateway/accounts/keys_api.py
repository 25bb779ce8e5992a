"""Routes of API keys for systems (/api/v1/api-keys), admins only."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gateway.accounts.api import FORBIDDEN, PER_ADDRESS, UNAVAILABLE, problem
from gateway.accounts.schemas import ACCOUNT_ID, ApiKeyCreated, ApiKeyIn, ApiKeyOut
from gateway.deps import ApiKeyServiceDep
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"], dependencies=PER_ADDRESS)
KeyManager = Annotated[Principal, Requires(Permission.api_key_manage)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    summary="Create an API key",
    description=(
        "A key for a system, `adn_<prefix>_<secret>`, answered whole in this response only "
        "(only a hash of the secret is kept). Roles: `agency` needs `agency_id` (it then acts "
        "for that agency and its offices), `regional_system` needs `region_codes` (existing "
        "Kemendagri codes), `ops` (read-only, never personal data) and `admin` need neither. "
        "Admins only."
    ),
    responses={**PROBLEM_RESPONSES, **FORBIDDEN, **UNAVAILABLE},
)
async def create_api_key(
    body: ApiKeyIn, principal: KeyManager, service: ApiKeyServiceDep, response: Response
) -> ApiKeyCreated:
    response.headers["Cache-Control"] = "no-store"
    return await service.create(body, created_by=principal.key)


@router.get(
    "",
    response_model=Page[ApiKeyOut],
    summary="List API keys",
    description=(
        "Every key, revoked ones included, oldest first, never the secret: the prefix tells "
        "them apart. `last_used_at` is updated at most once a minute. Admins only."
    ),
    responses={**PROBLEM_RESPONSES, **FORBIDDEN, **UNAVAILABLE},
    dependencies=[Requires(Permission.api_key_manage)],
)
async def list_api_keys(
    service: ApiKeyServiceDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Keys per page")] = 50,
) -> Page[ApiKeyOut]:
    return await service.page(cursor=cursor, limit=limit)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API key",
    description=(
        "The key is refused (401) from now on: at once by this gateway process, within 5 s by "
        "the others (they cache a key for that long). Revoking twice is fine. Admins only."
    ),
    responses={
        **PROBLEM_RESPONSES,
        **FORBIDDEN,
        404: problem("No such API key"),
        **UNAVAILABLE,
    },
    dependencies=[Requires(Permission.api_key_manage)],
)
async def revoke_api_key(
    key_id: Annotated[uuid.UUID, Path(description="The key's id", examples=[ACCOUNT_ID])],
    service: ApiKeyServiceDep,
) -> Response:
    await service.revoke(key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
