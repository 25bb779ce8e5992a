"""An account's own notification preferences. Never commits: the request edge does."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.people.domain import INBOX_ROLES, Language
from notifications.people.repository import DirectoryRepository
from notifications.people.schemas import PreferencesIn, PreferencesOut
from services.principal import Principal, PrincipalKind
from services.problems import ProblemError


def _account(principal: Principal) -> uuid.UUID:
    if principal.kind is not PrincipalKind.user or principal.subject is None:
        raise ProblemError("forbidden", "only people signed in with an account have preferences")
    return uuid.UUID(principal.subject)


class PreferencesService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.directory = DirectoryRepository(session)

    async def get(self, principal: Principal) -> PreferencesOut:
        account_id = _account(principal)
        row = (await self.directory.preferences([account_id])).get(account_id)
        if row is None:
            return PreferencesOut(updated_at=None)
        return PreferencesOut(
            language=Language(row.language),
            email=row.email,
            push=row.push,
            sms=row.sms,
            push_tokens=list(row.push_tokens),
            daily_digest=row.daily_digest,
            updated_at=row.updated_at,
        )

    async def put(self, principal: Principal, body: PreferencesIn) -> PreferencesOut:
        account_id = _account(principal)
        if body.daily_digest and principal.role.value not in INBOX_ROLES:
            raise ProblemError("validation_failed", errors=[("/daily_digest", "staff_only")])
        await self.directory.save_preferences(
            account_id,
            language=body.language.value,
            email=body.email,
            push=body.push,
            sms=body.sms,
            push_tokens=list(dict.fromkeys(body.push_tokens)),
            daily_digest=body.daily_digest,
        )
        return await self.get(principal)
