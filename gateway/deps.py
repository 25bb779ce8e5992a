"""Annotated dependencies of the gateway's own routes (accounts, staff, API keys).

The principal: `services.deps.get_principal` reads what the internal identity header proved;
the gateway is where identity starts, so gateway/main.py overrides that dependency with
`authenticated_principal` (the same authenticator chain the proxy uses). `Requires(...)` of
services/policy.py then works on the gateway's routes exactly as on the services'.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts.keys import ApiKeyService
from gateway.accounts.runtime import AccountsRuntime
from gateway.accounts.service import AuthService
from gateway.accounts.staff import StaffService
from gateway.accounts.uow import transaction
from gateway.proxy import authenticate
from gateway.state import StateDep
from services.principal import Principal
from services.problems import ProblemError


async def authenticated_principal(request: Request, state: StateDep) -> Principal:
    principal = await authenticate(request, state)
    request.state.principal = principal  # for the access line
    return principal


async def get_accounts(state: StateDep) -> AccountsRuntime:
    if state.accounts is None:
        raise ProblemError(
            "service_unavailable", "accounts need the gateway's database (ADUAN_DATABASE_URL)"
        )
    return state.accounts


AccountsDep = Annotated[AccountsRuntime, Depends(get_accounts)]


async def get_session(accounts: AccountsDep) -> AsyncIterator[AsyncSession]:
    async with transaction(accounts.sessionmaker, accounts.publisher) as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx means the change is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_auth_service(session: SessionDep, accounts: AccountsDep) -> AuthService:
    return AuthService(session, accounts)


async def get_staff_service(session: SessionDep, accounts: AccountsDep) -> StaffService:
    return StaffService(session, accounts)


async def get_api_key_service(session: SessionDep, accounts: AccountsDep) -> ApiKeyService:
    return ApiKeyService(session, accounts)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
StaffServiceDep = Annotated[StaffService, Depends(get_staff_service)]
ApiKeyServiceDep = Annotated[ApiKeyService, Depends(get_api_key_service)]
