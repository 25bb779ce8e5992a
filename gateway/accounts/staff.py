"""Staff accounts: national admins, agency coordinators (admin koordinator) and office liaisons
(admin penghubung).

Admins manage every staff account. A coordinator manages coordinators and liaisons of its own
agency and the offices below it: it may not create admins (403) nor staff of another agency
(403: the agency directory is public, so refusing says nothing new), and staff outside its
agencies are not there for it (404). Never commits.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts import totp
from gateway.accounts.events import account_deactivated, account_recorded
from gateway.accounts.passwords import hash_password
from gateway.accounts.repository import (
    AccountRepository,
    ReferenceRepository,
    RefreshTokenRepository,
)
from gateway.accounts.runtime import AccountsRuntime
from gateway.accounts.schemas import (
    StaffCreated,
    StaffIn,
    StaffOut,
    StaffPage,
    StaffRole,
    TotpEnrolmentOut,
)
from gateway.accounts.service import account_out, new_id
from services.events.catalogue import EventType
from services.models import Account
from services.pagination import decode_cursor, encode_cursor
from services.policy import not_visible
from services.principal import STAFF_ROLES, Principal, PrincipalKind, Role
from services.problems import ProblemError

STAFF_ROLE_VALUES = tuple(role.value for role in STAFF_ROLES)


class StaffService:
    def __init__(self, session: AsyncSession, runtime: AccountsRuntime) -> None:
        self.session = session
        self.runtime = runtime
        self.accounts = AccountRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.reference = ReferenceRepository(session)

    def _sees(self, principal: Principal, account: Account) -> bool:
        if account.role not in STAFF_ROLE_VALUES:
            return False
        if principal.role is Role.admin:
            return True
        return account.agency_id is not None and principal.covers_agency(account.agency_id)

    async def create(self, principal: Principal, body: StaffIn) -> StaffCreated:
        if body.role is StaffRole.admin:
            if principal.role is not Role.admin:
                raise ProblemError("forbidden", "only national admins create admins")
            if body.agency_id is not None:
                raise ProblemError(
                    "validation_failed", errors=[("/agency_id", "agency_not_allowed")]
                )
        else:
            if body.agency_id is None:
                raise ProblemError("validation_failed", errors=[("/agency_id", "missing")])
            if await self.reference.agency(body.agency_id) is None:
                raise ProblemError("validation_failed", errors=[("/agency_id", "unknown_agency")])
            if principal.role is not Role.admin and not principal.covers_agency(body.agency_id):
                raise ProblemError(
                    "forbidden",
                    "coordinators create staff for their own agency and its offices only",
                )
        enrolment = self.runtime.settings.admin_totp_required and body.role is StaffRole.admin
        secret = totp.new_secret() if enrolment else None
        account = await self.accounts.insert(
            account_id=new_id(),
            role=body.role.value,
            name=body.name,
            email=body.email,
            phone=body.phone,
            password_hash=await hash_password(body.password),
            agency_id=body.agency_id,
            totp_secret=secret,
            created_by=principal.key,
        )
        if account is None:
            raise ProblemError("conflict", "an account with this email exists already")
        account_recorded(self.session, EventType.account_staff_created, account, actor=principal)
        agency = await self.reference.agency(body.agency_id) if body.agency_id else None
        provisioning = (
            TotpEnrolmentOut(
                secret=secret, otpauth_uri=totp.provisioning_uri(secret, account.email)
            )
            if secret is not None
            else None
        )
        return account_out(account, agency, StaffCreated, totp=provisioning)

    async def page(self, principal: Principal, *, cursor: str | None, limit: int) -> StaffPage:
        after = decode_cursor(cursor)
        try:
            after_id = uuid.UUID(after) if after else None
        except ValueError as exc:
            raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc
        rows = await self.accounts.staff(
            roles=STAFF_ROLE_VALUES,
            agency_ids=None if principal.role is Role.admin else principal.agency_ids,
            after=after_id,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        agencies = await self.reference.agencies(
            {row.agency_id for row in rows if row.agency_id is not None}
        )
        return StaffPage(
            items=[
                account_out(row, agencies.get(row.agency_id) if row.agency_id else None, StaffOut)
                for row in rows
            ],
            next_cursor=encode_cursor(str(rows[-1].id)) if more else None,
        )

    async def _visible(self, principal: Principal, account_id: uuid.UUID) -> Account:
        account = await self.accounts.get(account_id)
        if account is None or not self._sees(principal, account):
            raise not_visible("staff member", account_id)
        return account

    async def get(self, principal: Principal, account_id: uuid.UUID) -> StaffOut:
        account = await self._visible(principal, account_id)
        agency = await self.reference.agency(account.agency_id) if account.agency_id else None
        return account_out(account, agency, StaffOut)

    async def deactivate(self, principal: Principal, account_id: uuid.UUID) -> None:
        """The account can no longer sign in or refresh, and its access tokens stop working
        (at once here, within 5 s in the other gateway processes)."""
        account = await self._visible(principal, account_id)
        if principal.kind is PrincipalKind.user and principal.subject == str(account.id):
            raise ProblemError("conflict", "you cannot deactivate your own account")
        await self.accounts.deactivate(account.id)
        account_deactivated(self.session, account, actor=principal)
        await self.refresh_tokens.revoke_account(account.id)
        self.runtime.forget_account(account.id)
