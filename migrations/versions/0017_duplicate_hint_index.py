"""the duplicate hint's index (issue 10)

The create's possible-duplicates query read every open complaint of the category (bitmap of
ix_complaints_category_code and ix_complaints_status), so it grew with the table. This index
holds one kabupaten/kota's complaints of a category in filing order, status alongside.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGENCY_OF_REGION = (
    "(split_part(region_code::text, '.'::text, 1) || '.'::text)"
    " || split_part(region_code::text, '.'::text, 2)"
)


def upgrade() -> None:
    op.create_index(
        "ix_complaints_duplicate_hint",
        "complaints",
        ["category_code", sa.text(f"({REGENCY_OF_REGION})"), "created_at", "status"],
        unique=False,
        postgresql_where=sa.text("confidential IS false"),
    )


def downgrade() -> None:
    op.drop_index("ix_complaints_duplicate_hint", table_name="complaints")
