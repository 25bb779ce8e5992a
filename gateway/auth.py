"""Who is calling: a chain of authenticators turns the Authorization header into a Principal.

In order: the bootstrap admin key (ADUAN_ADMIN_API_KEY), API keys (`adn_…`), access tokens of
accounts (JWTs: three dot-separated parts). Each authenticator either claims the credentials or
passes; credentials nobody claims, or that the claiming one refuses, are 401, never anonymous.
The proxy and the gateway's own routes (gateway/deps.py) share the chain.
"""

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.accounts.runtime import AccountsRuntime
from gateway.accounts.tokens import API_KEY_PREFIX, InvalidToken, parse_api_key, sha256_hex
from services.principal import ANONYMOUS, BOOTSTRAP_ADMIN, Principal, PrincipalKind, Role
from services.settings import Settings


@dataclass(frozen=True)
class Credentials:
    scheme: str  # lower-cased, e.g. "bearer"
    token: str


class Unauthenticated(Exception):
    """The caller presented credentials that no authenticator accepts."""


class Authenticator(Protocol):
    # Async because later kinds need I/O (JWKS for JWTs, a key lookup for agencies).
    async def authenticate(self, credentials: Credentials) -> Principal | None:
        """The principal these credentials prove, or None when they are not this kind."""
        ...


class AdminKeyAuthenticator:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        if credentials.scheme != "bearer":
            return None
        # Constant time, so response timing does not leak how much of the key matched.
        return (
            BOOTSTRAP_ADMIN if hmac.compare_digest(credentials.token.encode(), self._key) else None
        )


class ApiKeyAuthenticator:
    """`Bearer adn_<prefix>_<secret>`: the prefix finds the key, its secret's hash proves it."""

    def __init__(self, accounts: AccountsRuntime) -> None:
        self.accounts = accounts

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        if credentials.scheme != "bearer" or not credentials.token.startswith(API_KEY_PREFIX):
            return None
        parsed = parse_api_key(credentials.token)
        if parsed is None:
            raise Unauthenticated("malformed API key")
        prefix, secret = parsed
        key = await self.accounts.api_key(prefix)
        if (
            key is None
            or not hmac.compare_digest(key.secret_hash, sha256_hex(secret))
            or key.revoked
        ):
            raise Unauthenticated("unknown or revoked API key")
        await self.accounts.record_key_use(key.id)
        return Principal(
            kind=PrincipalKind.api_key,
            role=Role(key.role),
            subject=str(key.id),
            agency_id=key.agency_id,
            agency_ids=await self.accounts.agency_scope(key.agency_id),
            region_codes=key.region_codes,
        )


class AccessTokenAuthenticator:
    """`Bearer <JWT>` issued by POST /api/v1/auth/token (gateway/accounts/tokens.py)."""

    def __init__(self, accounts: AccountsRuntime) -> None:
        self.accounts = accounts

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        tokens = self.accounts.tokens
        if tokens is None or credentials.scheme != "bearer" or credentials.token.count(".") != 2:
            return None
        try:
            claims = tokens.verify(credentials.token)
        except InvalidToken as exc:
            raise Unauthenticated(str(exc)) from exc
        if not await self.accounts.account_active(claims.subject):
            raise Unauthenticated("the account is deactivated")
        return Principal(
            kind=PrincipalKind.user,
            role=claims.role,
            subject=str(claims.subject),
            agency_id=claims.agency_id,
            agency_ids=await self.accounts.agency_scope(claims.agency_id),
        )


class AuthenticatorChain:
    def __init__(self, authenticators: Sequence[Authenticator]) -> None:
        self.authenticators = tuple(authenticators)

    async def authenticate(self, authorization: Sequence[str]) -> Principal:
        """`authorization` holds every Authorization header value the request carried."""
        if not authorization:
            return ANONYMOUS
        if len(authorization) > 1:
            raise Unauthenticated("more than one Authorization header")
        return await self.authenticate_credentials(parse_authorization(authorization[0]))

    async def authenticate_api_key(self, token: str) -> Principal:
        """A credential sent as an argument rather than a header (Open311's `api_key`): the
        same keys and tokens as `Authorization: Bearer`, refused the same way."""
        if not token.strip():
            raise Unauthenticated("empty api_key")
        return await self.authenticate_credentials(Credentials(scheme="bearer", token=token))

    async def authenticate_credentials(self, credentials: Credentials) -> Principal:
        for authenticator in self.authenticators:
            principal = await authenticator.authenticate(credentials)
            if principal is not None:
                return principal
        # A wrong key is an error, never a silent downgrade to anonymous.
        raise Unauthenticated("unknown credentials")


def parse_authorization(value: str) -> Credentials:
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if not scheme or not token:
        raise Unauthenticated("malformed Authorization header")
    return Credentials(scheme=scheme.lower(), token=token)


def build_authenticator(
    settings: Settings, accounts: AccountsRuntime | None = None
) -> AuthenticatorChain:
    """Without `accounts` (a gateway with no database) only the bootstrap key is known."""
    authenticators: list[Authenticator] = []
    if settings.admin_api_key is not None and settings.admin_api_key.get_secret_value():
        authenticators.append(AdminKeyAuthenticator(settings.admin_api_key.get_secret_value()))
    if accounts is not None:
        authenticators.append(ApiKeyAuthenticator(accounts))
        authenticators.append(AccessTokenAuthenticator(accounts))
    return AuthenticatorChain(authenticators)
