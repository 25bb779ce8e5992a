"""All SQL of notifications to people: its own tables (contacts, preferences, followers,
messages), and read-only queries of the complaint aggregate (the reporter's contact given at
submission, reply windows, what is due) that it needs to know whom to tell what.

Never the gateway's tables: accounts reach the contact directory through `account.*` events.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from notifications.people.domain import MessageStatus
from services.models import (
    Agency,
    Complaint,
    ComplaintAgency,
    ComplaintClock,
    NotificationContact,
    NotificationFollower,
    NotificationPreference,
    PersonMessage,
)


def new_id() -> uuid.UUID:
    return uuid.UUID(str(uuid7()))


@dataclass(frozen=True)
class Reporter:
    """What the complaint aggregate says about whom to tell: read-only, at the time of telling."""

    complaint_id: uuid.UUID
    tracking_id: str
    account_id: uuid.UUID | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class ClosingWindow:
    clock_id: uuid.UUID
    complaint_id: uuid.UUID
    tracking_id: str
    due_at: datetime
    timezone: str


@dataclass(frozen=True)
class DueItem:
    agency_id: uuid.UUID | None  # never None here (the query asks for agencies' clocks)
    tracking_id: str
    clock: str
    due_at: datetime
    timezone: str


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    channel: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    data: dict[str, Any]
    attempts: int


class DirectoryRepository:
    """Contacts, preferences and followers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_contact(self, **values: Any) -> None:
        statement = pg_insert(NotificationContact).values(**values, updated_at=text("now()"))
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[NotificationContact.account_id],
                set_={k: statement.excluded[k] for k in values if k != "account_id"}
                | {"updated_at": text("now()")},
            )
        )

    async def deactivate_contact(self, account_id: uuid.UUID) -> None:
        await self.session.execute(
            update(NotificationContact)
            .where(NotificationContact.account_id == account_id)
            .values(active=False, updated_at=text("now()"))
        )

    async def contact(self, account_id: uuid.UUID) -> NotificationContact | None:
        return await self.session.get(NotificationContact, account_id)

    async def staff_of(
        self, agency_ids: Sequence[uuid.UUID], roles: Sequence[str]
    ) -> list[NotificationContact]:
        if not agency_ids:
            return []
        rows = await self.session.scalars(
            select(NotificationContact)
            .where(
                NotificationContact.agency_id.in_(agency_ids),
                NotificationContact.role.in_(roles),
                NotificationContact.active.is_(True),
            )
            .order_by(NotificationContact.account_id)
        )
        return list(rows)

    async def with_roles(self, roles: Sequence[str]) -> list[NotificationContact]:
        """Active contacts of these roles, whatever their agency (national admins have none)."""
        rows = await self.session.scalars(
            select(NotificationContact)
            .where(NotificationContact.role.in_(roles), NotificationContact.active.is_(True))
            .order_by(NotificationContact.account_id)
        )
        return list(rows)

    async def preferences(
        self, account_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, NotificationPreference]:
        if not account_ids:
            return {}
        rows = await self.session.scalars(
            select(NotificationPreference).where(NotificationPreference.account_id.in_(account_ids))
        )
        return {row.account_id: row for row in rows}

    async def save_preferences(self, account_id: uuid.UUID, **values: Any) -> None:
        statement = pg_insert(NotificationPreference).values(
            account_id=account_id, **values, updated_at=text("now()")
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[NotificationPreference.account_id],
                set_={k: statement.excluded[k] for k in values} | {"updated_at": text("now()")},
            )
        )

    async def digest_subscribers(self, roles: Sequence[str]) -> list[NotificationContact]:
        rows = await self.session.scalars(
            select(NotificationContact)
            .join(
                NotificationPreference,
                NotificationPreference.account_id == NotificationContact.account_id,
            )
            .where(
                NotificationPreference.daily_digest.is_(True),
                NotificationPreference.email.is_(True),
                NotificationContact.active.is_(True),
                NotificationContact.agency_id.is_not(None),
                NotificationContact.role.in_(roles),
            )
            .order_by(NotificationContact.account_id)
        )
        return list(rows)

    async def follow(self, complaint_id: uuid.UUID, account_id: uuid.UUID) -> None:
        await self.session.execute(
            pg_insert(NotificationFollower)
            .values(complaint_id=complaint_id, account_id=account_id)
            .on_conflict_do_nothing()
        )

    async def unfollow(self, complaint_id: uuid.UUID, account_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(NotificationFollower).where(
                NotificationFollower.complaint_id == complaint_id,
                NotificationFollower.account_id == account_id,
            )
        )

    async def followers(self, complaint_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(NotificationFollower.account_id)
            .where(NotificationFollower.complaint_id == complaint_id)
            .order_by(NotificationFollower.account_id)
        )
        return list(rows)


class ComplaintReadRepository:
    """Read-only queries of the complaint aggregate (owned by intake and routing)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reporter(self, complaint_id: uuid.UUID) -> Reporter | None:
        row = (
            await self.session.execute(
                select(
                    Complaint.id,
                    Complaint.tracking_id,
                    Complaint.reporter_account_id,
                    Complaint.reporter_email,
                    Complaint.reporter_phone,
                ).where(Complaint.id == complaint_id)
            )
        ).first()
        return Reporter(*row) if row is not None else None

    async def id_of(self, tracking_id: str) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.session.scalar(
            select(Complaint.id).where(Complaint.tracking_id == tracking_id)
        )
        return found

    async def reply_windows_closing(
        self, *, after: datetime, until: datetime
    ) -> list[ClosingWindow]:
        """Running reply windows of complaints still `responded` that close in (after, until]."""
        rows = await self.session.execute(
            select(
                ComplaintClock.id,
                Complaint.id,
                Complaint.tracking_id,
                ComplaintClock.due_at,
                ComplaintClock.timezone,
            )
            .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
            .where(
                ComplaintClock.kind == "reply_window",
                ComplaintClock.stopped_at.is_(None),
                ComplaintClock.paused_at.is_(None),
                ComplaintClock.due_at > after,
                ComplaintClock.due_at <= until,
                Complaint.status == "responded",
            )
            .order_by(ComplaintClock.due_at)
        )
        return [ClosingWindow(*row) for row in rows]

    async def due_for_agencies(
        self, agency_ids: Sequence[uuid.UUID], until: datetime
    ) -> list[DueItem]:
        """Running agency clocks of the agencies' active assignments due by `until` (or late)."""
        if not agency_ids:
            return []
        rows = await self.session.execute(
            select(
                ComplaintClock.agency_id,
                Complaint.tracking_id,
                ComplaintClock.kind,
                ComplaintClock.due_at,
                ComplaintClock.timezone,
            )
            .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
            .join(
                ComplaintAgency,
                (ComplaintAgency.complaint_id == ComplaintClock.complaint_id)
                & (ComplaintAgency.agency_id == ComplaintClock.agency_id)
                & ComplaintAgency.active.is_(True),
            )
            .where(
                ComplaintClock.agency_id.in_(agency_ids),
                ComplaintClock.stopped_at.is_(None),
                ComplaintClock.due_at <= until,
            )
            .order_by(ComplaintClock.due_at)
        )
        return [DueItem(*row) for row in rows]

    async def agencies(self, agency_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
        """Name and time zone of each agency (the directory is routing's; read-only here)."""
        if not agency_ids:
            return {}
        rows = await self.session.execute(
            select(Agency.id, Agency.name, Agency.timezone).where(Agency.id.in_(agency_ids))
        )
        return {row[0]: (row[1], row[2]) for row in rows}


# Due messages, oldest first, leased in the same statement. SKIP LOCKED: senders in several
# processes never take the same row; an expired lease (a sender that died) is free again.
CLAIM = text(
    """
    UPDATE person_messages m
    SET lease_until = now() + make_interval(secs => :lease_seconds)
    FROM (
        SELECT id FROM person_messages
        WHERE status = 'pending' AND next_attempt_at <= now()
          AND (lease_until IS NULL OR lease_until <= now())
        ORDER BY next_attempt_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ) due
    WHERE m.id = due.id
    RETURNING m.id, m.channel, m.recipient, m.subject, m.body_text, m.body_html, m.data,
              m.attempts
    """
)


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rows: Sequence[dict[str, Any]]) -> int:
        """Pending messages; one already planned (the same dedup key) is left alone."""
        if not rows:
            return 0
        result = await self.session.execute(
            pg_insert(PersonMessage)
            .values([{"id": new_id(), "status": MessageStatus.pending.value, **r} for r in rows])
            .on_conflict_do_nothing(index_elements=[PersonMessage.dedup_key])
            .returning(PersonMessage.id)
        )
        return len(result.all())

    async def claim(self, *, batch: int, lease_seconds: float) -> list[Claimed]:
        result = await self.session.execute(CLAIM, {"batch": batch, "lease_seconds": lease_seconds})
        return [Claimed(*row) for row in result]

    async def record(
        self,
        message_id: uuid.UUID,
        attempts_before: int,
        *,
        status: MessageStatus,
        error: str | None,
        retry_in: float | None,
    ) -> bool:
        """Fenced by the attempt count: a sender whose lease expired and whose message was
        attempted again meanwhile does not write over the newer outcome."""
        values: dict[str, Any] = {
            "status": status.value,
            "attempts": attempts_before + 1,
            "last_error": error,
            "lease_until": None,
        }
        if status is MessageStatus.sent:
            values["sent_at"] = text("now()")
        if retry_in is not None:
            values["next_attempt_at"] = func.now() + timedelta(seconds=retry_in)
        result = await self.session.execute(
            update(PersonMessage)
            .where(
                PersonMessage.id == message_id,
                PersonMessage.status == MessageStatus.pending.value,
                PersonMessage.attempts == attempts_before,
            )
            .values(**values)
            .returning(PersonMessage.id)
        )
        return result.first() is not None

    async def forget_finished(self, older_than_days: int) -> int:
        """Sent and dead messages hold addresses and words: they are not kept for ever."""
        result = await self.session.execute(
            delete(PersonMessage)
            .where(
                PersonMessage.status.in_([MessageStatus.sent.value, MessageStatus.dead.value]),
                PersonMessage.created_at < func.now() - timedelta(days=older_than_days),
            )
            .returning(PersonMessage.id)
        )
        return len(result.all())
