"""Notifications to people: the contact directory, preferences, followers and the messages
(email, push, SMS) waiting to go or gone; owned by the notifications service.

Contacts come from the gateway's account events (notifications never reads the gateway's
tables); preferences are set by the people themselves through notifications' own API.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, TimestampMixin


class NotificationContact(Base):
    """How to reach an account, as its `account.*` events said last."""

    __tablename__ = "notification_contacts"

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(index=True, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class NotificationPreference(Base):
    """What an account wants to hear, and how: set through /api/v1/me/notification-preferences."""

    __tablename__ = "notification_preferences"

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(2), default="id")
    email: Mapped[bool] = mapped_column(default=True)
    push: Mapped[bool] = mapped_column(default=True)
    sms: Mapped[bool] = mapped_column(default=False)
    push_tokens: Mapped[list[str]] = mapped_column(
        ARRAY(String(4096)), default=list, server_default=text("'{}'")
    )
    daily_digest: Mapped[bool] = mapped_column(default=False)  # staff: what is due, every morning
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class NotificationFollower(Base):
    """An account following a complaint (`complaint.followed`): told what its reporter is."""

    __tablename__ = "notification_followers"

    complaint_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class PersonMessage(TimestampMixin, Base):
    """One message to one address over one channel, rendered when it was planned. The sender
    (notifications.people.sender) claims due rows with a lease, sends, records the outcome;
    failures come back after a backoff until the last attempt makes it `dead`."""

    __tablename__ = "person_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # What made it, once: "<event id or cron key>:<kind>:<channel>:<recipient key>".
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # notifications.people.domain.MessageKind
    channel: Mapped[str] = mapped_column(String(8))  # email, push, sms
    recipient: Mapped[str] = mapped_column(String(4096))  # an address: never logged
    event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # push `data` (strings)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index(
            "ix_person_messages_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )
