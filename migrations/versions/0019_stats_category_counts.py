"""statistics: the complaints per category of every rollup row in a narrow table of its own

stats_category_counts copies `complaints` of every stats_weekly row (level 0) and stats_spans
row (levels 2, 4, 6) of a category, so the counts by category of a call are read from ~60-byte
rows instead of the ~1 KB rollup rows.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-03 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_category_counts",
        sa.Column("level", sa.SmallInteger(), primary_key=True),
        sa.Column("start", sa.Date(), primary_key=True),
        sa.Column("region_code", sa.String(16), primary_key=True),
        sa.Column("category_code", sa.String(64), primary_key=True),
        sa.Column("complaints", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO stats_category_counts (level, start, region_code, category_code, "
        "complaints) SELECT 0, week, region_code, category_code, complaints FROM stats_weekly "
        "WHERE category_code <> '' UNION ALL SELECT level, start, region_code, category_code, "
        "complaints FROM stats_spans WHERE category_code <> '' ORDER BY 1, 2, 3, 4"
    )


def downgrade() -> None:
    op.drop_table("stats_category_counts")
