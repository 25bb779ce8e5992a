"""The account events the gateway records, in the transaction of the change: how notifications
learns whom to reach (its contact directory), since it never reads the gateway's tables.

They carry contact details, so they are internal (services.events.catalogue.INTERNAL_EVENTS):
never delivered to webhooks, never on a complaint's timeline, and never logged (the publisher
logs event types and ids only).
"""

from sqlalchemy.ext.asyncio import AsyncSession

from services.events.catalogue import EventType
from services.events.outbox import record_event
from services.models import Account
from services.principal import Principal


def account_recorded(
    session: AsyncSession, type_: EventType, account: Account, *, actor: Principal
) -> None:
    record_event(
        session,
        type_,
        actor=actor,
        data={
            "account_id": str(account.id),
            "role": account.role,
            "name": account.name,
            "email": account.email,
            "phone": account.phone,
            "agency_id": str(account.agency_id) if account.agency_id else None,
        },
    )


def account_deactivated(session: AsyncSession, account: Account, *, actor: Principal) -> None:
    record_event(
        session,
        EventType.account_deactivated,
        actor=actor,
        data={"account_id": str(account.id), "role": account.role},
    )
