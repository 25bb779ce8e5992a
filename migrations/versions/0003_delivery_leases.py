"""webhook deliveries: leases, per-complaint order, circuit breaker

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"


def upgrade() -> None:
    op.add_column(
        "webhook_endpoints",
        sa.Column("failure_streak", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("circuit_trips", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("circuit_open_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("webhook_deliveries", sa.Column("complaint_id", sa.Uuid(), nullable=True))
    op.add_column(
        "webhook_deliveries", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )
    # Pending deliveries made before this revision learn their complaint, so they keep order.
    op.execute(
        "UPDATE webhook_deliveries d SET complaint_id = e.complaint_id FROM events e "
        "WHERE e.id = d.event_id AND d.status = 'pending'"
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_due",
        "webhook_deliveries",
        ["endpoint_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text(PENDING),
    )
    op.create_index(
        "ix_webhook_deliveries_leased",
        "webhook_deliveries",
        ["endpoint_id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending' AND lease_until IS NOT NULL"),
    )
    op.create_index(
        "ix_webhook_deliveries_complaint_order",
        "webhook_deliveries",
        ["complaint_id", "endpoint_id", "event_id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending' AND complaint_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_complaint_order", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_leased", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_endpoint_due", table_name="webhook_deliveries")
    op.drop_column("webhook_deliveries", "lease_until")
    op.drop_column("webhook_deliveries", "complaint_id")
    op.drop_column("webhook_endpoints", "circuit_open_until")
    op.drop_column("webhook_endpoints", "circuit_trips")
    op.drop_column("webhook_endpoints", "failure_streak")
