"""Disposition rules and SLA clocks; owned by the routing service."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, TimestampMixin


class TargetLevel(enum.StrEnum):
    """Where a rule sends a complaint, relative to its region."""

    opd = "opd"  # the office of `office_type` under the complaint's kabupaten/kota
    regency = "regency"  # the kabupaten/kota government
    province = "province"  # the province government
    ministry = "ministry"  # the ministry of the category (or `agency_id`)
    agency = "agency"  # exactly `agency_id`


class DispositionRule(TimestampMixin, Base):
    """`(report type?, category, region prefix?) → level or agency`: the most specific region
    prefix wins, then the lowest priority number."""

    __tablename__ = "disposition_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    report_type: Mapped[str | None] = mapped_column(String(32), default=None)
    region_prefix: Mapped[str | None] = mapped_column(String(16), default=None)
    target_level: Mapped[str] = mapped_column(String(20))
    office_type: Mapped[str | None] = mapped_column(String(40), default=None)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), default=None)
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(String(300), default=None)


class ClockKind(enum.StrEnum):
    verification = "verification"  # the admins verify (3 working days)
    first_response = "first_response"  # the agency's first follow-up (5)
    completion = "completion"  # the agency finishes (by report type, per category)
    reply_window = "reply_window"  # the reporter may answer a follow-up (10), then it closes


class ComplaintClock(Base):
    """One running deadline. `next_check_at` is when the sweep must look at it next (the
    warning, the breach, the next reminder); the sweep reads due rows through its index only."""

    __tablename__ = "complaint_clocks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    # The agency held to it (None for verification, which the national admins owe).
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), default=None)
    kind: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(40))  # the agency's, where days are counted
    working_days: Mapped[int]
    started_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    due_at: Mapped[datetime]
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index(
            "ix_complaint_clocks_due",
            "next_check_at",
            postgresql_where=text("stopped_at IS NULL AND paused_at IS NULL"),
        ),
    )


class ComplaintFollowUp(Base):
    """A follow-up (tindak lanjut) an agency gave. The text is content: it is kept here for
    every complaint, and travels in the `complaint.followed_up` event (and so in webhooks) only
    when the complaint is not confidential."""

    __tablename__ = "complaint_follow_ups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    text: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # The event that announced it on the timeline.
    event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
