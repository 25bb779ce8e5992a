"""The event table is the complaint's timeline, the audit log and the outbox at once."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class Event(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("complaints.id"), index=True, default=None
    )
    actor_kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(128), default=None)
    actor_role: Mapped[str | None] = mapped_column(String(32), default=None)
    data: Mapped[dict[str, Any]]
    # Content that only the complaint's entitled readers may see (the reporter, its assigned
    # agencies, admins; services/privacy.py): a confidential complaint's comment or follow-up
    # text. Never published (not in the envelope), so never in a webhook.
    private_data: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    trace_id: Mapped[str | None] = mapped_column(String(64), default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set by the reconciler once every consumer has the event in its inbox (or gave up on it).
    settled_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # The relay scans only what is still unpublished, the reconciler what is unsettled.
        Index(
            "ix_events_unpublished", "occurred_at", postgresql_where=text("published_at IS NULL")
        ),
        Index("ix_events_unsettled", "occurred_at", postgresql_where=text("settled_at IS NULL")),
    )


class ProcessedEvent(Base):
    """Consumer inbox: (consumer, event id) seen, so at-least-once delivery acts once."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class EventFailure(Base):
    """An event a consumer has not processed in time: republished by the reconciler while
    `status` is `retrying`; `failed` (an admin sees it and may retry) once that gives up or the
    job failed for good; `resolved` once the consumer's inbox has it."""

    __tablename__ = "event_failures"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    republished: Mapped[int] = mapped_column(default=0)  # by the reconciler, since the last retry
    admin_retries: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    first_failed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index(
            "ix_event_failures_open", "updated_at", postgresql_where=text("status <> 'resolved'")
        ),
    )
