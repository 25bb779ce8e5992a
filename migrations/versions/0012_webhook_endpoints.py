"""webhook endpoints managed by their owners, delivery attempts (issue 9)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Secrets of existing endpoints stay readable as they are (notifications.secrets reads a
    # plain `whsec_` value); every new or rotated secret is stored encrypted.
    op.alter_column(
        "webhook_endpoints", "secret", type_=sa.Text(), existing_type=sa.String(length=128)
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column(
            "agency_ids", sa.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False
        ),
    )
    op.add_column("webhook_endpoints", sa.Column("previous_secret", sa.Text(), nullable=True))
    op.add_column("webhook_endpoints", sa.Column("previous_secret_until", TIMESTAMP, nullable=True))
    op.add_column(
        "webhook_endpoints",
        sa.Column(
            "owner_kind", sa.String(length=16), server_default=sa.text("'admin'"), nullable=False
        ),
    )
    op.add_column("webhook_endpoints", sa.Column("owner_ref", sa.String(length=128), nullable=True))
    op.add_column(
        "webhook_endpoints", sa.Column("disabled_reason", sa.String(length=32), nullable=True)
    )
    op.add_column("webhook_endpoints", sa.Column("deleted_at", TIMESTAMP, nullable=True))
    op.add_column("webhook_endpoints", sa.Column("last_success_at", TIMESTAMP, nullable=True))
    op.add_column("webhook_endpoints", sa.Column("failing_since", TIMESTAMP, nullable=True))
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", TIMESTAMP, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(
        op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_attempts_delivery_id"), table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    for column in (
        "failing_since",
        "last_success_at",
        "deleted_at",
        "disabled_reason",
        "owner_ref",
        "owner_kind",
        "previous_secret_until",
        "previous_secret",
        "agency_ids",
    ):
        op.drop_column("webhook_endpoints", column)
    # `secret` stays text: an encrypted secret is longer than the old column.
