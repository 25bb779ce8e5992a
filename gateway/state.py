"""What the gateway process holds for its lifetime, created in the lifespan."""

from dataclasses import dataclass
from typing import Annotated

import aiohttp
import httpx
from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.accounts.runtime import AccountsRuntime
from gateway.auth import AuthenticatorChain
from gateway.openapi import OpenAPICache
from services.identity import IdentitySigner
from services.principal import Principal
from services.settings import Settings


@dataclass
class GatewayState:
    settings: Settings
    clients: dict[str, httpx.AsyncClient]
    proxies: dict[str, aiohttp.ClientSession]
    authenticator: AuthenticatorChain
    openapi: OpenAPICache
    redis: ArqRedis | None  # None when ADUAN_REDIS_URL is unset: /readyz then reports it
    signer: IdentitySigner  # the private key: the gateway is the only process that has it
    # Accounts, tokens and API keys; None without ADUAN_DATABASE_URL (only the bootstrap key).
    engine: AsyncEngine | None = None
    accounts: AccountsRuntime | None = None

    def identity_header(
        self,
        principal: Principal,
        *,
        method: str,
        path: str,
        query: str = "",
        request_id: str = "",
        body: bytes = b"",
        body_sha256: bytes | None = None,
    ) -> str:
        """X-Aduan-Identity for one request to a service (services/identity.py)."""
        return self.signer.sign(
            principal,
            method=method,
            path=path,
            query=query,
            request_id=request_id,
            body=body,
            body_sha256=body_sha256,
        )

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        for session in self.proxies.values():
            await session.close()
        if self.accounts is not None:
            await self.accounts.close()  # before Redis and the engine its publisher uses
        if self.redis is not None:
            await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()


async def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


StateDep = Annotated[GatewayState, Depends(get_state)]
