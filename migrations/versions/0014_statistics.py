"""statistics aggregates (issue 10)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 03:10:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
HISTOGRAMS = ("verification", "first_response", "completion")
COUNTS = (
    "finished",
    "in_process",
    "no_follow_up",
    "verification_met",
    "verification_counted",
    "first_response_met",
    "first_response_counted",
    "completion_met",
    "completion_counted",
    "open",
    "overdue",
    "escalated",
    "escalations",
    "returned",
    "returns",
    "forwarded",
    "resolved",
    "first_contact_resolved",
    "reopened",
    "rated",
    "rating_sum",
)


def rollup_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("by_status", postgresql.JSONB(), nullable=False),
        sa.Column("by_report_type", postgresql.JSONB(), nullable=False),
        sa.Column("by_channel", postgresql.JSONB(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS[:3]],
        *[
            column
            for kind in HISTOGRAMS
            for column in (
                sa.Column(f"{kind}_met", sa.Integer(), nullable=False),
                sa.Column(f"{kind}_counted", sa.Integer(), nullable=False),
                sa.Column(f"{kind}_hist", postgresql.ARRAY(sa.Integer()), nullable=False),
            )
        ],
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS[9:]],
    ]


def upgrade() -> None:
    op.create_table(
        "stats_complaint_facts",
        sa.Column(
            "complaint_id",
            sa.Uuid(),
            sa.ForeignKey("complaints.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=False),
        sa.Column("category_code", sa.String(64), nullable=False),
        sa.Column("report_type", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("share", sa.String(16), nullable=True),
        sa.Column(
            "agency_ids",
            postgresql.ARRAY(postgresql.UUID(as_uuid=True)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("verification_days", sa.Integer(), nullable=True),
        sa.Column("verification_met", sa.Boolean(), nullable=True),
        sa.Column("first_response_days", sa.Integer(), nullable=True),
        sa.Column("first_response_met", sa.Boolean(), nullable=True),
        sa.Column("completion_days", sa.Integer(), nullable=True),
        sa.Column("completion_met", sa.Boolean(), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("forwarded", sa.Boolean(), nullable=False),
        sa.Column("ever_resolved", sa.Boolean(), nullable=False),
        sa.Column("first_contact_resolved", sa.Boolean(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("last_event_at", TS, nullable=False),
    )
    op.create_index("ix_stats_facts_week_region", "stats_complaint_facts", ["week", "region_code"])
    op.create_index(
        "ix_stats_facts_stalled",
        "stats_complaint_facts",
        ["last_event_at"],
        postgresql_where=sa.text("is_open"),
    )
    op.create_index(
        "ix_stats_facts_overdue",
        "stats_complaint_facts",
        ["submitted_at"],
        postgresql_where=sa.text("overdue"),
    )
    op.create_index(
        "ix_stats_facts_returned",
        "stats_complaint_facts",
        ["submitted_at"],
        postgresql_where=sa.text("returns > 1"),
    )
    op.create_table(
        "stats_weekly",
        sa.Column("week", sa.Date(), primary_key=True),
        sa.Column("region_code", sa.String(16), primary_key=True),
        sa.Column("category_code", sa.String(64), primary_key=True),
        *rollup_columns(),
    )
    op.create_table(
        "stats_weekly_agencies",
        sa.Column("week", sa.Date(), primary_key=True),
        sa.Column("agency_id", sa.Uuid(), primary_key=True),
        sa.Column("category_code", sa.String(64), primary_key=True),
        *rollup_columns(),
    )
    op.create_index("ix_stats_weekly_category_week", "stats_weekly", ["category_code", "week"])
    op.create_table(
        "stats_watermarks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_events_occurred_at", table_name="events")
    op.drop_table("stats_watermarks")
    op.drop_table("stats_weekly_agencies")
    op.drop_table("stats_weekly")
    op.drop_table("stats_complaint_facts")
