"""Who is calling: a chain of authenticators turns the Authorization header into a Principal.

Only the admin API key exists today; citizen JWTs and agency API keys become further
authenticators in the chain, so the proxy never changes when a credential kind is added.
"""

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.principal import ANONYMOUS, BOOTSTRAP_ADMIN, Principal
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


class AuthenticatorChain:
    def __init__(self, authenticators: Sequence[Authenticator]) -> None:
        self.authenticators = tuple(authenticators)

    async def authenticate(self, authorization: Sequence[str]) -> Principal:
        """`authorization` holds every Authorization header value the request carried."""
        if not authorization:
            return ANONYMOUS
        if len(authorization) > 1:
            raise Unauthenticated("more than one Authorization header")
        credentials = parse_authorization(authorization[0])
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


def build_authenticator(settings: Settings) -> AuthenticatorChain:
    authenticators: list[Authenticator] = []
    if settings.admin_api_key is not None and settings.admin_api_key.get_secret_value():
        authenticators.append(AdminKeyAuthenticator(settings.admin_api_key.get_secret_value()))
    return AuthenticatorChain(authenticators)
