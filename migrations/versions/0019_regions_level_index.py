"""regions by level (issue 10)

Every statistics call lists the provinces or the kabupaten/kota: a sequential scan of the
91,599 regions for ~550 rows took ~12 ms of the kabupaten/kota call.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 10:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_regions_level_code", "regions", ["level", "code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_regions_level_code", table_name="regions")
