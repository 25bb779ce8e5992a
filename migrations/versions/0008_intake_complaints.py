"""intake complaints: tracking ids, external refs, search, idempotency (issue 8)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_DOCUMENT = (
    "setweight(to_tsvector('indonesian'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('indonesian'::regconfig, coalesce(description, '')), 'B')"
)


def upgrade() -> None:
    op.add_column(
        "complaints",
        sa.Column("channel", sa.String(length=20), server_default="web", nullable=False),
    )
    op.add_column("complaints", sa.Column("external_ref", sa.String(length=128), nullable=True))
    op.add_column(
        "complaints", sa.Column("external_tracking_ref", sa.String(length=128), nullable=True)
    )
    op.add_column(
        "complaints",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_DOCUMENT, persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_complaints_search", "complaints", ["search"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "uq_complaints_external_ref",
        "complaints",
        ["submitted_by", "external_ref"],
        unique=True,
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_complaints_external_ref", table_name="complaints")
    op.drop_index("ix_complaints_search", table_name="complaints")
    op.drop_column("complaints", "search")
    op.drop_column("complaints", "external_tracking_ref")
    op.drop_column("complaints", "external_ref")
    op.drop_column("complaints", "channel")
