"""All SQL of accounts, refresh tokens and API keys (tables the gateway owns), and the reads of
reference data it needs (agencies and their offices, regions). Never commits."""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import Account, Agency, ApiKey, RefreshToken, Region

LAST_USE_RESOLUTION = timedelta(minutes=1)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, account_id: uuid.UUID) -> Account | None:
        return await self.session.get(Account, account_id)

    async def by_email(self, email: str) -> Account | None:
        result: Account | None = await self.session.scalar(
            select(Account).where(Account.email == email.lower())
        )
        return result

    async def insert(
        self,
        *,
        account_id: uuid.UUID,
        role: str,
        name: str,
        email: str,
        phone: str | None,
        password_hash: str,
        agency_id: uuid.UUID | None,
        totp_secret: str | None,
        created_by: str | None,
    ) -> Account | None:
        """The new account, or None when the email is taken (no exception, no race)."""
        statement = (
            pg_insert(Account)
            .values(
                id=account_id,
                role=role,
                name=name,
                email=email.lower(),
                phone=phone,
                password_hash=password_hash,
                agency_id=agency_id,
                totp_secret=totp_secret,
                active=True,
                created_by=created_by,
            )
            .on_conflict_do_nothing(index_elements=[Account.email])
            .returning(Account)
        )
        result: Account | None = await self.session.scalar(
            statement, execution_options={"populate_existing": True}
        )
        return result

    async def set_password_hash(self, account_id: uuid.UUID, password_hash: str) -> None:
        await self.session.execute(
            update(Account).where(Account.id == account_id).values(password_hash=password_hash)
        )

    async def start_totp(self, account_id: uuid.UUID, secret: str) -> None:
        """A pending enrolment: the secret is kept, the second factor is not on yet."""
        await self.session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(totp_secret=secret, totp_enabled_at=None, totp_last_step=None)
        )

    async def accept_totp_step(self, account_id: uuid.UUID, step: int, *, enable: bool) -> bool:
        """Record `step` as used; False when it (or a later one) was used already."""
        values: dict[str, object] = {"totp_last_step": step}
        if enable:
            values["totp_enabled_at"] = func.coalesce(Account.totp_enabled_at, func.now())
        accepted = await self.session.scalar(
            update(Account)
            .where(
                Account.id == account_id,
                or_(Account.totp_last_step.is_(None), Account.totp_last_step < step),
            )
            .values(**values)
            .returning(Account.id)
        )
        return accepted is not None

    async def active(self, account_id: uuid.UUID) -> bool | None:
        """Whether the account may act; None when there is no such account."""
        found: bool | None = await self.session.scalar(
            select(Account.active).where(Account.id == account_id)
        )
        return found

    async def deactivate(self, account_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Account).where(Account.id == account_id).values(active=False)
        )

    async def staff(
        self,
        *,
        roles: Collection[str],
        agency_ids: Collection[uuid.UUID] | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Account]:
        """Staff accounts by id (time-ordered), only of `agency_ids` when given."""
        query = select(Account).where(Account.role.in_(list(roles))).order_by(Account.id)
        if agency_ids is not None:
            query = query.where(Account.agency_id.in_(list(agency_ids)))
        if after is not None:
            query = query.where(Account.id > after)
        return list(await self.session.scalars(query.limit(limit)))


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        token_id: uuid.UUID,
        account_id: uuid.UUID,
        family_id: uuid.UUID,
        token_hash: str,
        expires_at: datetime,
    ) -> None:
        self.session.add(
            RefreshToken(
                id=token_id,
                account_id=account_id,
                family_id=family_id,
                token_hash=token_hash,
                expires_at=expires_at,
            )
        )
        await self.session.flush()

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        result: RefreshToken | None = await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )
        return result

    async def spend(self, token_id: uuid.UUID) -> bool:
        """Mark a live token used; False when it was spent or revoked already (also by a
        concurrent request: the condition and the write are one statement)."""
        spent = await self.session.scalar(
            update(RefreshToken)
            .where(
                RefreshToken.id == token_id,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
            )
            .values(used_at=func.now())
            .returning(RefreshToken.id)
        )
        return spent is not None

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def revoke_account(self, account_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        key_id: uuid.UUID,
        prefix: str,
        secret_hash: str,
        name: str,
        role: str,
        agency_id: uuid.UUID | None,
        region_codes: Sequence[str],
        created_by: str,
    ) -> ApiKey:
        key = ApiKey(
            id=key_id,
            prefix=prefix,
            secret_hash=secret_hash,
            name=name,
            role=role,
            agency_id=agency_id,
            region_codes=list(region_codes),
            created_by=created_by,
        )
        self.session.add(key)
        await self.session.flush()
        await self.session.refresh(key, ["created_at"])
        return key

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        result: ApiKey | None = await self.session.scalar(
            select(ApiKey).where(ApiKey.prefix == prefix)
        )
        return result

    async def page(self, *, after: uuid.UUID | None, limit: int) -> list[ApiKey]:
        query = select(ApiKey).order_by(ApiKey.id)
        if after is not None:
            query = query.where(ApiKey.id > after)
        return list(await self.session.scalars(query.limit(limit)))

    async def revoke(self, key_id: uuid.UUID) -> None:
        await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def mark_used(self, key_id: uuid.UUID) -> None:
        """Record a use, unless one was recorded within the last minute (then no row changes,
        so busy keys do not turn every request into a write)."""
        await self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < func.now() - LAST_USE_RESOLUTION,
                ),
            )
            .values(last_used_at=func.now())
        )


class ReferenceRepository:
    """Agencies (routing's) and regions (the seed's), read only."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def agency(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def agencies(self, agency_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Agency]:
        if not agency_ids:
            return {}
        rows = await self.session.scalars(select(Agency).where(Agency.id.in_(list(agency_ids))))
        return {agency.id: agency for agency in rows}

    async def agency_by_code(self, code: str) -> Agency | None:
        result: Agency | None = await self.session.scalar(select(Agency).where(Agency.code == code))
        return result

    async def agency_with_offices(self, agency_id: uuid.UUID) -> list[uuid.UUID]:
        """The agency and every agency below it, at any depth (empty when it does not exist)."""
        tree = (
            select(Agency.id, literal(0).label("depth"))
            .where(Agency.id == agency_id)
            .cte("tree", recursive=True)
        )
        tree = tree.union_all(
            select(Agency.id, (tree.c.depth + 1).label("depth"))
            .join(tree, Agency.parent_id == tree.c.id)
            .where(tree.c.depth < 10)  # a guard against a cycle in bad data
        )
        return list(await self.session.scalars(select(tree.c.id).order_by(tree.c.depth)))

    async def missing_regions(self, codes: Collection[str]) -> list[str]:
        if not codes:
            return []
        found = set(await self.session.scalars(select(Region.code).where(Region.code.in_(codes))))
        return [code for code in codes if code not in found]
