"""attachments (issue 8): files of complaints and of agencies' follow-ups

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("follow_up_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=160), nullable=True),
        sa.Column("uploaded_by", sa.String(length=16), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=128), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_attachments_complaint_id_complaints"),
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["complaint_follow_ups.id"],
            name=op.f("fk_complaint_attachments_follow_up_id_complaint_follow_ups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_attachments")),
    )
    op.create_index(
        op.f("ix_complaint_attachments_complaint_id"),
        "complaint_attachments",
        ["complaint_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_complaint_attachments_sha256"), "complaint_attachments", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_complaint_attachments_sha256"), table_name="complaint_attachments")
    op.drop_index(op.f("ix_complaint_attachments_complaint_id"), table_name="complaint_attachments")
    op.drop_table("complaint_attachments")
