"""What the gateway keeps for accounts and credentials while it runs: the database, the access
token keys, and two short caches that spare the database a read per request.

- An agency's scope (the agency and every office below it), up to 60 s: a new office is seen by
  staff and keys of its parent within a minute.
- An API key's row, up to 5 s: a key revoked through another gateway process stops working
  within 5 s (at once in the process that revoked it).
- Whether an account is active, up to 5 s: the access tokens of a deactivated account stop
  working within 5 s (at once in the process that deactivated it), not at their expiry.
"""

import time
import uuid
from dataclasses import dataclass

from gateway.accounts.repository import AccountRepository, ApiKeyRepository, ReferenceRepository
from gateway.accounts.tokens import AccessTokens
from gateway.accounts.uow import transaction
from services.cache import Memo
from services.db import SessionMaker
from services.events.outbox import Publisher
from services.logging import get_logger
from services.models import ApiKey
from services.problems import ProblemError
from services.settings import Settings

AGENCY_SCOPE_TTL_SECONDS = 60.0
API_KEY_TTL_SECONDS = 5.0
ACCOUNT_STATE_TTL_SECONDS = 5.0
LAST_USE_INTERVAL_SECONDS = 60.0
log = get_logger(__name__)


@dataclass(frozen=True)
class KeyRecord:
    id: uuid.UUID
    secret_hash: str
    role: str
    agency_id: uuid.UUID | None
    region_codes: tuple[str, ...]
    revoked: bool

    @classmethod
    def of(cls, key: ApiKey) -> "KeyRecord":
        return cls(
            id=key.id,
            secret_hash=key.secret_hash,
            role=key.role,
            agency_id=key.agency_id,
            region_codes=tuple(key.region_codes),
            revoked=key.revoked_at is not None,
        )


class AccountsRuntime:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: SessionMaker,
        publisher: Publisher | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        # Pushes the account events after each commit; None: the workers' relay does (later).
        self.publisher = publisher
        # Without keys the gateway still serves API keys and the bootstrap key; sign-in answers
        # 503 until ADUAN_JWT_KEYS is set. Keys that are set but wrong stop it at startup.
        self.tokens = AccessTokens.from_settings(settings) if settings.jwt_keys else None
        if self.tokens is None:
            log.warning("ADUAN_JWT_KEYS is not set: accounts cannot sign in (aduan run sets one)")
        self._scopes: Memo[uuid.UUID, tuple[uuid.UUID, ...]] = Memo(
            ttl_seconds=AGENCY_SCOPE_TTL_SECONDS, max_entries=50_000
        )
        self._keys: Memo[str, KeyRecord] = Memo(ttl_seconds=API_KEY_TTL_SECONDS, max_entries=50_000)
        self._active: Memo[uuid.UUID, bool] = Memo(ttl_seconds=ACCOUNT_STATE_TTL_SECONDS)
        self._last_use: dict[uuid.UUID, float] = {}

    async def agency_scope(self, agency_id: uuid.UUID | None) -> tuple[uuid.UUID, ...]:
        """The agency and every office below it; () for none."""
        if agency_id is None:
            return ()

        async def load() -> tuple[uuid.UUID, ...] | None:
            async with self.sessionmaker() as session:
                found = await ReferenceRepository(session).agency_with_offices(agency_id)
            return tuple(found) or None

        return await self._scopes.get(agency_id, load) or (agency_id,)

    async def api_key(self, prefix: str) -> KeyRecord | None:
        async def load() -> KeyRecord | None:
            async with self.sessionmaker() as session:
                key = await ApiKeyRepository(session).by_prefix(prefix)
            return KeyRecord.of(key) if key is not None else None

        return await self._keys.get(prefix, load)

    async def account_active(self, account_id: uuid.UUID) -> bool:
        """False for a deactivated account and for one that is gone."""

        async def load() -> bool | None:
            async with self.sessionmaker() as session:
                return await AccountRepository(session).active(account_id)

        return bool(await self._active.get(account_id, load))

    def access_tokens(self) -> AccessTokens:
        if self.tokens is None:
            raise ProblemError(
                "service_unavailable", "sign-in is not configured here (ADUAN_JWT_KEYS)"
            )
        return self.tokens

    async def close(self) -> None:
        if self.publisher is not None:
            await self.publisher.close()  # its last pushes and published marks

    def forget_api_keys(self) -> None:
        """After a revocation: this process stops accepting the key at once."""
        self._keys.clear()

    def forget_account(self, account_id: uuid.UUID) -> None:
        """After a deactivation: this process stops accepting the account's tokens at once."""
        self._active.forget(account_id)

    async def record_key_use(self, key_id: uuid.UUID) -> None:
        """Note that the key was used: at most once a minute per key and process (the UPDATE
        itself is conditional too, for many processes). Never fails the request."""
        now = time.monotonic()
        if now - self._last_use.get(key_id, -LAST_USE_INTERVAL_SECONDS) < LAST_USE_INTERVAL_SECONDS:
            return
        if len(self._last_use) > 50_000:
            self._last_use.clear()
        self._last_use[key_id] = now
        try:
            async with transaction(self.sessionmaker) as session:
                await ApiKeyRepository(session).mark_used(key_id)
        except Exception as exc:  # bookkeeping only: the request goes on
            log.warning("could not record the use of API key %s: %r", key_id, exc)
