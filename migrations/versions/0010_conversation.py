"""the citizen conversation: comments, replies, ratings, followers (issue 8)

Comments, replies, ratings and reopenings are events; a confidential complaint's text rides on
the event row in `private_data`, which is never published. Followers get a table of intake's.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("private_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        "complaint_followers",
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_followers_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("complaint_id", "account_id", name=op.f("pk_complaint_followers")),
    )
    op.create_index(
        op.f("ix_complaint_followers_account_id"),
        "complaint_followers",
        ["account_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_complaint_followers_account_id"), table_name="complaint_followers")
    op.drop_table("complaint_followers")
    op.drop_column("events", "private_data")
