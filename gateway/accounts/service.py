"""Citizens and sessions: registration, sign-in (password, optional TOTP), refresh-token
rotation with reuse detection, sign-out, the caller's own account and second factor.

Never commits: the request edge does (gateway/accounts/uow.py).
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from gateway.accounts import totp
from gateway.accounts.events import account_recorded
from gateway.accounts.passwords import hash_password, needs_rehash, verify_password
from gateway.accounts.repository import (
    AccountRepository,
    ReferenceRepository,
    RefreshTokenRepository,
)
from gateway.accounts.runtime import AccountsRuntime
from gateway.accounts.schemas import (
    AccountOut,
    AgencyRef,
    RegisterIn,
    TokenForm,
    TokenOut,
    TotpEnrolmentOut,
)
from gateway.accounts.tokens import new_refresh_token, sha256_hex
from gateway.accounts.uow import RefusalAfterWrite
from services.events.catalogue import EventType
from services.models import Account, Agency
from services.principal import STAFF_ROLES, Principal, PrincipalKind, Role
from services.problems import ProblemError

# One answer for an unknown email, a wrong password and a deactivated account: no enumeration.
BAD_LOGIN = "the email or password is wrong, or the account is not active"
BAD_REFRESH = "the refresh token is not valid; sign in again"


AccountT = TypeVar("AccountT", bound=AccountOut)


def new_id() -> uuid.UUID:
    return uuid.UUID(str(uuid7()))


def unauthenticated(detail: str) -> ProblemError:
    return ProblemError(
        "unauthenticated",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="aduan", error="invalid_token"'},
    )


def account_out(
    account: Account, agency: Agency | None, model: type[AccountT], **extra: object
) -> AccountT:
    return model.model_validate(
        {
            "id": account.id,
            "role": account.role,
            "name": account.name,
            "email": account.email,
            "phone": account.phone,
            "agency": AgencyRef.model_validate(agency) if agency is not None else None,
            "totp_enabled": account.totp_enabled_at is not None,
            "active": account.active,
            "created_at": account.created_at,
            "created_by": account.created_by,
            **extra,
        }
    )


class AuthService:
    def __init__(self, session: AsyncSession, runtime: AccountsRuntime) -> None:
        self.session = session
        self.runtime = runtime
        self.accounts = AccountRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.reference = ReferenceRepository(session)

    # --- registration and sign-in ---------------------------------------------------------------

    async def register(self, body: RegisterIn) -> AccountOut:
        account = await self.accounts.insert(
            account_id=new_id(),
            role=Role.citizen.value,
            name=body.name,
            email=body.email,
            phone=body.phone,
            password_hash=await hash_password(body.password),
            agency_id=None,
            totp_secret=None,
            created_by="self",
        )
        if account is None:
            raise ProblemError("conflict", "an account with this email exists already")
        self_registered = Principal(
            kind=PrincipalKind.user, role=Role.citizen, subject=str(account.id)
        )
        account_recorded(self.session, EventType.account_registered, account, actor=self_registered)
        return account_out(account, None, AccountOut)

    async def token(self, form: TokenForm) -> TokenOut:
        self.runtime.access_tokens()  # 503 before anything is read or written
        if form.grant_type == "refresh_token":
            if not form.refresh_token:
                raise ProblemError("validation_failed", errors=[("/refresh_token", "missing")])
            return await self.refresh(form.refresh_token)
        missing = [
            (f"/{name}", "missing") for name in ("username", "password") if not getattr(form, name)
        ]
        if missing:
            raise ProblemError("validation_failed", errors=missing)
        assert form.username is not None and form.password is not None
        return await self.login(form.username, form.password, form.otp)

    async def login(self, email: str, password: str, otp: str | None) -> TokenOut:
        account = await self.accounts.by_email(email.strip())
        matched = await verify_password(account.password_hash if account else None, password)
        if account is None or not matched or not account.active:
            raise unauthenticated(BAD_LOGIN)
        await self._second_factor(account, otp)
        if needs_rehash(account.password_hash):
            await self.accounts.set_password_hash(account.id, await hash_password(password))
        return await self._issue(account, family_id=new_id())

    async def _second_factor(self, account: Account, otp: str | None) -> None:
        if account.totp_enabled_at is not None:
            if not otp:
                raise unauthenticated("this account uses a second factor: send the code as `otp`")
            await self._accept_code(account, otp, enable=False)
            return
        required = self.runtime.settings.admin_totp_required and account.role == Role.admin
        if not required:
            return
        if account.totp_secret is not None and otp:
            # The first sign-in with a code of the secret handed out at creation switches it on.
            await self._accept_code(account, otp, enable=True)
            return
        raise ProblemError(
            "forbidden",
            "national admins must sign in with a second factor: add the TOTP secret given when "
            "the account was created to an authenticator app and send its code as `otp`",
        )

    async def _accept_code(self, account: Account, code: str, *, enable: bool) -> None:
        assert account.totp_secret is not None
        step = totp.matching_step(account.totp_secret, code)
        if step is None or not await self.accounts.accept_totp_step(
            account.id, step, enable=enable
        ):
            raise unauthenticated("the one-time code is not valid (or was used already)")

    async def _issue(self, account: Account, *, family_id: uuid.UUID) -> TokenOut:
        settings = self.runtime.settings
        refresh = new_refresh_token()
        await self.refresh_tokens.add(
            token_id=new_id(),
            account_id=account.id,
            family_id=family_id,
            token_hash=sha256_hex(refresh),
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
        tokens = self.runtime.access_tokens()
        access = tokens.issue(
            subject=account.id, role=Role(account.role), agency_id=account.agency_id
        )
        return TokenOut(
            access_token=access,
            expires_in=tokens.ttl_seconds,
            refresh_token=refresh,
        )

    # --- refresh and sign-out -------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> TokenOut:
        """Spend the token and issue the next of its family. A token spent before means it was
        copied: every token of the family is revoked (the thief's and the owner's), and both
        must sign in again."""
        row = await self.refresh_tokens.by_hash(sha256_hex(refresh_token))
        if row is None or row.expires_at <= datetime.now(UTC):
            raise unauthenticated(BAD_REFRESH)
        if not await self.refresh_tokens.spend(row.id):
            await self.refresh_tokens.revoke_family(row.family_id)
            raise RefusalAfterWrite(
                "unauthenticated",
                "the refresh token was used already: this sign-in is revoked everywhere",
                headers={"WWW-Authenticate": 'Bearer realm="aduan", error="invalid_token"'},
            )
        account = await self.accounts.get(row.account_id)
        if account is None or not account.active:
            await self.refresh_tokens.revoke_family(row.family_id)
            raise RefusalAfterWrite("unauthenticated", BAD_REFRESH)
        return await self._issue(account, family_id=row.family_id)

    async def logout(self, refresh_token: str) -> None:
        """Revoke the family of the token (this sign-in on every device it was refreshed on).
        An unknown token changes nothing and is not an error."""
        row = await self.refresh_tokens.by_hash(sha256_hex(refresh_token))
        if row is not None:
            await self.refresh_tokens.revoke_family(row.family_id)

    # --- the caller's own account ---------------------------------------------------------------

    async def _own(self, principal: Principal) -> Account:
        if principal.kind is not PrincipalKind.user or principal.subject is None:
            raise ProblemError("forbidden", "only people signed in with an account have one")
        account = await self.accounts.get(uuid.UUID(principal.subject))
        if account is None:
            raise ProblemError("not_found", "the account no longer exists")
        return account

    async def _own_staff(self, principal: Principal) -> Account:
        account = await self._own(principal)
        if Role(account.role) not in STAFF_ROLES:
            raise ProblemError("forbidden", "the second factor is for staff accounts")
        return account

    async def me(self, principal: Principal) -> AccountOut:
        account = await self._own(principal)
        agency = await self.reference.agency(account.agency_id) if account.agency_id else None
        return account_out(account, agency, AccountOut)

    async def start_totp(self, principal: Principal) -> TotpEnrolmentOut:
        account = await self._own_staff(principal)
        if account.totp_enabled_at is not None:
            raise ProblemError("conflict", "the second factor is on already")
        secret = totp.new_secret()
        await self.accounts.start_totp(account.id, secret)
        return TotpEnrolmentOut(
            secret=secret, otpauth_uri=totp.provisioning_uri(secret, account.email)
        )

    async def confirm_totp(self, principal: Principal, code: str) -> AccountOut:
        account = await self._own_staff(principal)
        if account.totp_enabled_at is not None:
            raise ProblemError("conflict", "the second factor is on already")
        if account.totp_secret is None:
            raise ProblemError("conflict", "start with POST /api/v1/me/totp")
        step = totp.matching_step(account.totp_secret, code)
        if step is None or not await self.accounts.accept_totp_step(account.id, step, enable=True):
            raise ProblemError("validation_failed", errors=[("/code", "invalid_otp")])
        await self.session.refresh(account)
        agency = await self.reference.agency(account.agency_id) if account.agency_id else None
        return account_out(account, agency, AccountOut)
