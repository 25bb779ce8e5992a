"""agency workflow: disposition rules, SLA clocks, assignment handling, category policy

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 23:19:37.263995
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disposition_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("category_code", sa.String(length=64), nullable=False),
        sa.Column("report_type", sa.String(length=32), nullable=True),
        sa.Column("region_prefix", sa.String(length=16), nullable=True),
        sa.Column("target_level", sa.String(length=20), nullable=False),
        sa.Column("office_type", sa.String(length=40), nullable=True),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_disposition_rules_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name=op.f("fk_disposition_rules_category_code_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_rules")),
    )
    op.create_index(
        op.f("ix_disposition_rules_category_code"),
        "disposition_rules",
        ["category_code"],
        unique=False,
    )
    op.create_table(
        "complaint_clocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_complaint_clocks_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_clocks_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_clocks")),
    )
    op.create_index(
        op.f("ix_complaint_clocks_complaint_id"), "complaint_clocks", ["complaint_id"], unique=False
    )
    op.create_index(
        "ix_complaint_clocks_due",
        "complaint_clocks",
        ["next_check_at"],
        unique=False,
        postgresql_where=sa.text("stopped_at IS NULL AND paused_at IS NULL"),
    )
    op.add_column("agencies", sa.Column("office_type", sa.String(length=40), nullable=True))
    op.add_column(
        "agencies",
        sa.Column(
            "contacts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "agencies",
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column("categories", sa.Column("office_type", sa.String(length=40), nullable=True))
    op.add_column("categories", sa.Column("ministry_code", sa.String(length=64), nullable=True))
    op.add_column(
        "categories",
        sa.Column("verification", sa.String(length=10), server_default="auto", nullable=False),
    )
    op.add_column(
        "categories",
        sa.Column(
            "keywords",
            sa.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column("categories", sa.Column("completion_days", sa.Integer(), nullable=True))
    op.add_column(
        "complaint_agencies",
        sa.Column("status", sa.String(length=20), server_default="assigned", nullable=False),
    )
    op.add_column(
        "complaint_agencies",
        sa.Column("role", sa.String(length=20), server_default="handler", nullable=False),
    )
    op.add_column("complaint_agencies", sa.Column("source_id", sa.Uuid(), nullable=True))
    op.add_column(
        "complaint_agencies", sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_complaint_agencies_source_id_complaint_agencies"),
        "complaint_agencies",
        "complaint_agencies",
        ["source_id"],
        ["id"],
    )
    op.add_column("complaints", sa.Column("target_agency_id", sa.Uuid(), nullable=True))
    op.add_column(
        "complaints",
        sa.Column("returns_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("complaints", sa.Column("held_from_status", sa.String(length=20), nullable=True))
    op.add_column("complaints", sa.Column("resume_on", sa.Date(), nullable=True))
    op.create_foreign_key(
        op.f("fk_complaints_target_agency_id_agencies"),
        "complaints",
        "agencies",
        ["target_agency_id"],
        ["id"],
    )
    op.add_column("events", sa.Column("actor_role", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "actor_role")
    op.drop_constraint(
        op.f("fk_complaints_target_agency_id_agencies"), "complaints", type_="foreignkey"
    )
    op.drop_column("complaints", "resume_on")
    op.drop_column("complaints", "held_from_status")
    op.drop_column("complaints", "returns_count")
    op.drop_column("complaints", "target_agency_id")
    op.drop_constraint(
        op.f("fk_complaint_agencies_source_id_complaint_agencies"),
        "complaint_agencies",
        type_="foreignkey",
    )
    op.drop_column("complaint_agencies", "ended_at")
    op.drop_column("complaint_agencies", "source_id")
    op.drop_column("complaint_agencies", "role")
    op.drop_column("complaint_agencies", "status")
    op.drop_column("categories", "completion_days")
    op.drop_column("categories", "keywords")
    op.drop_column("categories", "verification")
    op.drop_column("categories", "ministry_code")
    op.drop_column("categories", "office_type")
    op.drop_column("agencies", "active")
    op.drop_column("agencies", "contacts")
    op.drop_column("agencies", "office_type")
    op.drop_index(
        "ix_complaint_clocks_due",
        table_name="complaint_clocks",
        postgresql_where=sa.text("stopped_at IS NULL AND paused_at IS NULL"),
    )
    op.drop_index(op.f("ix_complaint_clocks_complaint_id"), table_name="complaint_clocks")
    op.drop_table("complaint_clocks")
    op.drop_index(op.f("ix_disposition_rules_category_code"), table_name="disposition_rules")
    op.drop_table("disposition_rules")
