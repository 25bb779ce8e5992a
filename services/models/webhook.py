"""Webhook endpoints and their deliveries; owned by the notifications service."""

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, ForeignKey, Index, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.models.base import Base, TimestampMixin

PENDING = text("status = 'pending'")


class WebhookEndpoint(TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    # Empty means "every region" / "every event type".
    region_codes: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    # Complaints assigned to any of these agencies also match (a scope matches on either).
    agency_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default=text("'{}'")
    )
    # Encrypted at rest (notifications.secrets); while a rotation's grace lasts the previous
    # secret signs too.
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_until: Mapped[datetime | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(default=True)  # "enabled" in the API
    # Who manages it: `admin`, `agency` (owner_ref: the agency id) or `regional_system`
    # (owner_ref: the key's principal key).
    owner_kind: Mapped[str] = mapped_column(
        String(16), default="admin", server_default=text("'admin'")
    )
    owner_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    # Why it was disabled by Aduan itself (`gone`: a 410; `failing`: no success for days).
    disabled_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)  # first failure after it
    # Circuit breaker (see notifications.domain): consecutive failed attempts, how many times in
    # a row the circuit opened (the cool-down doubles each time), and until when it is open.
    failure_streak: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    circuit_trips: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    circuit_open_until: Mapped[datetime | None] = mapped_column(default=None)


class WebhookDelivery(TimestampMixin, Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    # The event's complaint (no foreign key: a copy for ordering, the event holds the reference).
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Set while a dispatcher holds the delivery (claimed, being sent); an expired lease is free.
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        # Partial indexes over pending rows only, so the dispatcher's claim stays cheap however
        # long the delivery history grows: "anything due?", each endpoint's due rows in order,
        # each endpoint's leased rows (its in-flight count), an earlier delivery of a complaint.
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=PENDING),
        Index(
            "ix_webhook_deliveries_endpoint_due",
            "endpoint_id",
            "next_attempt_at",
            postgresql_where=PENDING,
        ),
        Index(
            "ix_webhook_deliveries_leased",
            "endpoint_id",
            postgresql_where=text("status = 'pending' AND lease_until IS NOT NULL"),
        ),
        Index(
            "ix_webhook_deliveries_complaint_order",
            "complaint_id",
            "endpoint_id",
            "event_id",
            postgresql_where=text("status = 'pending' AND complaint_id IS NOT NULL"),
        ),
    )


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: what a receiver's team needs to see why it failed."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int]  # 1 for the first attempt of the delivery (since its last redelivery)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int | None] = mapped_column(default=None)
    response: Mapped[str | None] = mapped_column(Text, default=None)  # its first 2 KB
    error: Mapped[str | None] = mapped_column(Text, default=None)
