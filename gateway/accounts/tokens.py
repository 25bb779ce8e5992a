"""The credentials we hand out: JWT access tokens, opaque refresh tokens, API keys.

Access tokens are HS256 JWTs: only the gateway signs and verifies them. Each carries the id of
its key (`kid`); every configured key verifies, the active one signs, so a key is rotated by
adding the new one, making it active, and removing the old one once the last token it signed
has expired (`ADUAN_ACCESS_TOKEN_TTL_SECONDS` later). Refresh tokens and API key secrets are
random and only their SHA-256 is stored: they are long enough that a slow hash adds nothing.
"""

import base64
import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from services.principal import STAFF_ROLES, Role
from services.settings import Settings

ISSUER = "aduan"
ALGORITHM = "HS256"
MIN_KEY_LENGTH = 32
ACCOUNT_ROLES = frozenset({Role.citizen, *STAFF_ROLES})
API_KEY_PREFIX = "adn_"
_API_KEY = re.compile(r"adn_([a-z2-7]{8})_([A-Za-z0-9_-]{32,128})")


class InvalidToken(Exception):
    """Expired, tampered, signed by an unknown key, or not ours at all."""


@dataclass(frozen=True)
class AccessClaims:
    subject: uuid.UUID
    role: Role
    agency_id: uuid.UUID | None
    token_id: str
    expires_at: datetime


class AccessTokens:
    def __init__(self, keys: Mapping[str, str], active_kid: str, ttl_seconds: int) -> None:
        if active_kid not in keys:
            raise ValueError(f"the active key id {active_kid!r} is not among the keys")
        short = [kid for kid, key in keys.items() if len(key) < MIN_KEY_LENGTH]
        if short:
            raise ValueError(f"keys shorter than {MIN_KEY_LENGTH} characters: {short}")
        self._keys = dict(keys)
        self.active_kid = active_kid
        self.ttl_seconds = ttl_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> "AccessTokens":
        keys = {kid: key.get_secret_value() for kid, key in settings.jwt_keys.items()}
        if not keys:
            raise RuntimeError("ADUAN_JWT_KEYS must be set (aduan run generates one)")
        active = settings.jwt_active_kid or None  # empty in the environment: unset
        if active is None:
            if len(keys) > 1:
                raise RuntimeError("ADUAN_JWT_ACTIVE_KID must name one of several ADUAN_JWT_KEYS")
            [active] = keys
        try:
            return cls(keys, active, settings.access_token_ttl_seconds)
        except ValueError as exc:
            raise RuntimeError(f"ADUAN_JWT_KEYS / ADUAN_JWT_ACTIVE_KID: {exc}") from exc

    def issue(
        self,
        *,
        subject: uuid.UUID,
        role: Role,
        agency_id: uuid.UUID | None,
        now: datetime | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "sub": str(subject),
            "role": role.value,
            "agency_id": str(agency_id) if agency_id else None,
            "iat": issued,
            "exp": issued + timedelta(seconds=self.ttl_seconds),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(
            claims,
            self._keys[self.active_kid],
            algorithm=ALGORITHM,
            headers={"kid": self.active_kid},
        )

    def verify(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("not a token") from exc
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["iss", "sub", "iat", "exp", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("the token is not valid") from exc
        try:
            role = Role(claims["role"])
            agency = claims.get("agency_id")
            parsed = AccessClaims(
                subject=uuid.UUID(claims["sub"]),
                role=role,
                agency_id=uuid.UUID(agency) if agency else None,
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidToken("the token's claims are not valid") from exc
        if role not in ACCOUNT_ROLES:
            raise InvalidToken("the token's claims are not valid")
        return parsed


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str, str]:
    """(prefix, secret, the whole key): the prefix finds the row, the secret proves it."""
    prefix = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    secret = secrets.token_urlsafe(32)
    return prefix, secret, f"{API_KEY_PREFIX}{prefix}_{secret}"


def parse_api_key(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    match = _API_KEY.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None
