"""reconciler: settled events, event failures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_events_unsettled",
        "events",
        ["occurred_at"],
        unique=False,
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.create_table(
        "event_failures",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("republished", sa.Integer(), nullable=False),
        sa.Column("admin_retries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "first_failed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_failures_event_id_events")
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_event_failures")),
    )
    op.create_index(
        "ix_event_failures_open",
        "event_failures",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("status <> 'resolved'"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_failures_open", table_name="event_failures")
    op.drop_table("event_failures")
    op.drop_index("ix_events_unsettled", table_name="events")
    op.drop_column("events", "settled_at")
