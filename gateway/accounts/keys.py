"""API keys of systems: `adn_<prefix>_<secret>`, only the secret's SHA-256 stored.

Roles and what binds them: `agency` (one agency; its principal covers the agency and its
offices), `regional_system` (region codes; each covers the regions below it), `ops` and `admin`
(bound to nothing). Never commits; used by the admin routes and by `aduan api-key`.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts.repository import ApiKeyRepository, ReferenceRepository
from gateway.accounts.runtime import AccountsRuntime
from gateway.accounts.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, ApiKeyRole
from gateway.accounts.service import new_id
from gateway.accounts.tokens import new_api_key, sha256_hex
from services.models import Agency
from services.pagination import Page, decode_cursor, encode_cursor
from services.problems import ProblemError


class ApiKeyService:
    def __init__(self, session: AsyncSession, runtime: AccountsRuntime | None = None) -> None:
        self.session = session
        self.runtime = runtime  # None in the CLI: no cache to clear there
        self.keys = ApiKeyRepository(session)
        self.reference = ReferenceRepository(session)

    async def _check_scope(self, body: ApiKeyIn) -> None:
        errors: list[tuple[str, str]] = []
        if body.role is ApiKeyRole.agency:
            if body.agency_id is None:
                errors.append(("/agency_id", "missing"))
            elif await self.reference.agency(body.agency_id) is None:
                errors.append(("/agency_id", "unknown_agency"))
        elif body.agency_id is not None:
            errors.append(("/agency_id", "agency_not_allowed"))
        if body.role is ApiKeyRole.regional_system:
            if not body.region_codes:
                errors.append(("/region_codes", "missing"))
            missing = set(await self.reference.missing_regions(body.region_codes))
            errors += [
                (f"/region_codes/{index}", "unknown_region")
                for index, code in enumerate(body.region_codes)
                if code in missing
            ]
        elif body.region_codes:
            errors.append(("/region_codes", "regions_not_allowed"))
        if errors:
            raise ProblemError("validation_failed", errors=errors)

    async def create(self, body: ApiKeyIn, *, created_by: str) -> ApiKeyCreated:
        await self._check_scope(body)
        prefix, secret, whole = new_api_key()
        key = await self.keys.add(
            key_id=new_id(),
            prefix=prefix,
            secret_hash=sha256_hex(secret),
            name=body.name,
            role=body.role.value,
            agency_id=body.agency_id,
            region_codes=sorted(set(body.region_codes)),
            created_by=created_by,
        )
        return ApiKeyCreated.model_validate(
            {**ApiKeyOut.model_validate(key).model_dump(), "key": whole}
        )

    async def page(self, *, cursor: str | None, limit: int) -> Page[ApiKeyOut]:
        after = decode_cursor(cursor)
        try:
            after_id = uuid.UUID(after) if after else None
        except ValueError as exc:
            raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc
        rows = await self.keys.page(after=after_id, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Page[ApiKeyOut](
            items=[ApiKeyOut.model_validate(row) for row in rows],
            next_cursor=encode_cursor(str(rows[-1].id)) if more else None,
        )

    async def all(self) -> Sequence[ApiKeyOut]:
        rows = await self.keys.page(after=None, limit=100_000)
        return [ApiKeyOut.model_validate(row) for row in rows]

    async def revoke(self, key_id: uuid.UUID) -> None:
        """Revoked at once in this process, within 5 s in the others. Revoking twice is fine."""
        if await self.keys.get(key_id) is None:
            raise ProblemError("not_found", f"no API key {key_id}")
        await self.keys.revoke(key_id)
        if self.runtime is not None:
            self.runtime.forget_api_keys()

    async def agency_by_reference(self, reference: str) -> Agency | None:
        """An agency by id or by code (`pemda-11.01`), for the command line."""
        try:
            return await self.reference.agency(uuid.UUID(reference))
        except ValueError:
            return await self.reference.agency_by_code(reference)
