"""Open311 GeoReport v2 (issue 8)

A GeoReport request may come with coordinates or an address only: such a complaint has no
region until an admin sets one, so `complaints.region_code` becomes nullable. Each complaint
filed through Open311 gets its token and media URL in `open311_requests`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("complaints", "region_code", existing_type=sa.String(16), nullable=True)
    op.create_table(
        "open311_requests",
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("media_url", sa.String(length=2048), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_open311_requests_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_open311_requests")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_requests_token")),
    )


def downgrade() -> None:
    op.drop_table("open311_requests")
    # Region-less complaints cannot go back under NOT NULL; they must get a region first.
    op.alter_column("complaints", "region_code", existing_type=sa.String(16), nullable=False)
