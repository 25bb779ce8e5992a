"""Webhook endpoints and their deliveries; owned by the notifications service."""

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, ForeignKey, Index, String, Text, UniqueConstraint, text
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
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
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
