"""The one shared aggregate: intake and routing both change it, through the lifecycle only."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.models.base import Base, TimestampMixin
from services.models.reference import Agency


class Complaint(TimestampMixin, Base):
    __tablename__ = "complaints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tracking_id: Mapped[str] = mapped_column(String(16), unique=True)
    report_type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    occurred_on: Mapped[date | None] = mapped_column(default=None)
    address: Mapped[str | None] = mapped_column(String(500), default=None)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6), default=None)
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6), default=None)
    reporter_name: Mapped[str | None] = mapped_column(String(200), default=None)
    reporter_email: Mapped[str | None] = mapped_column(String(320), default=None)
    reporter_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    anonymous: Mapped[bool] = mapped_column(default=False)
    confidential: Mapped[bool] = mapped_column(default=False)
    submitted_by: Mapped[str] = mapped_column(String(128))
    # The citizen account that filed it (their "my complaints"), if any.
    reporter_account_id: Mapped[uuid.UUID | None] = mapped_column(index=True, default=None)
    # sha256 of the reporter_token handed out once at creation: the anonymous reporter's key.
    reporter_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(20), index=True)
    escalation_level: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Optimistic locking: a concurrent writer of the same complaint gets StaleDataError (→ 409).
    version: Mapped[int] = mapped_column(default=1)

    assignments: Mapped[list["ComplaintAgency"]] = relationship(
        back_populates="complaint", order_by="ComplaintAgency.assigned_at"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ComplaintAgency(Base):
    """Which agency must act on a complaint (disposisi); history is kept by `active`."""

    __tablename__ = "complaint_agencies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(server_default=func.now())
    active: Mapped[bool] = mapped_column(default=True)

    complaint: Mapped[Complaint] = relationship(back_populates="assignments")
    agency: Mapped[Agency] = relationship(lazy="joined")
