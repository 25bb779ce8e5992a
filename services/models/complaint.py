"""The one shared aggregate: intake and routing both change it, through the lifecycle only."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    Computed,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.models.base import Base, TimestampMixin
from services.models.reference import Agency

# The title weighs more than the description in search ranks.
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('indonesian'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('indonesian'::regconfig, coalesce(description, '')), 'B')"
)

# The kabupaten/kota of a region code ("11.01" for 11.01, 11.01.01 or 11.01.01.2001): the
# duplicate hint's scope, indexed (ix_complaints_duplicate_hint) and queried as this very text,
# written as PostgreSQL prints it back (Alembic compares the index by that text).
REGENCY_OF_REGION_SQL = (
    "(split_part(region_code::text, '.'::text, 1) || '.'::text)"
    " || split_part(region_code::text, '.'::text, 2)"
)
REGENCY_OF_REGION: ColumnElement[str] = literal_column(f"({REGENCY_OF_REGION_SQL})", String)


class Complaint(TimestampMixin, Base):
    __tablename__ = "complaints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tracking_id: Mapped[str] = mapped_column(String(16), unique=True)
    report_type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    # None only for an Open311 request without a region: it waits for an admin to set one.
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
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
    # The agency the reporter asked for (honoured when its scope covers the region).
    target_agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id"), default=None
    )
    # How often an agency sent it back as not its business (bukan wewenang).
    returns_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # While on hold (tunda): the status to go back to, and the day to resume.
    held_from_status: Mapped[str | None] = mapped_column(String(20), default=None)
    resume_on: Mapped[date | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Optimistic locking: a concurrent writer of the same complaint gets StaleDataError (→ 409).
    version: Mapped[int] = mapped_column(default=1)
    # --- intake (issue 8): channel, regional forwards, full-text search
    # How it came in: mobile, web, sms, regional_system or open311 (intake/schemas.py Channel).
    channel: Mapped[str] = mapped_column(String(20), default="web", server_default="web")
    # A regional system's own id of the complaint: unique per source (the filing key).
    external_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    external_tracking_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    # Indonesian full-text search (listing, duplicate hints); never loaded with the row.
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(SEARCH_DOCUMENT, persisted=True),
        deferred=True,
        deferred_raiseload=True,
    )

    assignments: Mapped[list["ComplaintAgency"]] = relationship(
        back_populates="complaint", order_by="ComplaintAgency.assigned_at"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_complaints_search", "search", postgresql_using="gin"),
        # Possible duplicates (intake's similar_open): one kabupaten/kota's complaints of a
        # category since a date, status checked in the index: a range as long as the window's
        # complaints there, not the table's.
        Index(
            "ix_complaints_duplicate_hint",
            "category_code",
            text(f"({REGENCY_OF_REGION_SQL})"),
            "created_at",
            "status",
            postgresql_where=text("confidential IS false"),
        ),
        Index(
            "uq_complaints_external_ref",
            "submitted_by",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
    )


class AssignmentStatus(enum.StrEnum):
    """One agency's handling of a complaint; a complaint may have several agencies."""

    assigned = "assigned"  # dispositioned to it, not yet accepted
    accepted = "accepted"
    responded = "responded"  # it gave a follow-up (tindak lanjut)
    resolved = "resolved"
    returned = "returned"  # bukan wewenang: sent back
    delegated = "delegated"  # handed to one of its offices


class AssignmentRole(enum.StrEnum):
    handler = "handler"  # must act
    escalation = "escalation"  # a level above, watching since a breach


class ComplaintAgency(Base):
    """Which agency must act on a complaint (disposisi); history is kept by `active`."""

    __tablename__ = "complaint_agencies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(server_default=func.now())
    active: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(
        String(20), default=AssignmentStatus.assigned.value, server_default="assigned"
    )
    role: Mapped[str] = mapped_column(
        String(20), default=AssignmentRole.handler.value, server_default="handler"
    )
    # The assignment this one came from (a delegation down, an escalation up).
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("complaint_agencies.id"), default=None
    )
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    complaint: Mapped[Complaint] = relationship(back_populates="assignments")
    agency: Mapped[Agency] = relationship(lazy="joined")
