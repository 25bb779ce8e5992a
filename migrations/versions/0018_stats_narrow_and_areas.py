"""statistics: narrow category counts, and the rollups summed per province and country

stats_category_counts copies `complaints` of every stats_weekly row (level 0) and stats_spans
row (levels 2, 4, 6) of a category, so the counts by category of a call are read from ~60-byte
rows instead of the ~1 KB rollup rows. stats_area_weekly holds the weekly rows summed
per province and for the whole country (area_code ''), so a province-level call reads ~40
rows a week and a trend a row per week.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 07:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SUMS = (
    "complaints",
    *(
        f"status_{v}"
        for v in (
            "submitted",
            "verified",
            "dispositioned",
            "in_progress",
            "responded",
            "resolved",
            "on_hold",
            "archived",
            "returned",
            "duplicate",
        )
    ),
    *(f"report_type_{v}" for v in ("pengaduan", "aspirasi", "permintaan_informasi")),
    *(f"channel_{v}" for v in ("mobile", "web", "sms", "regional_system", "open311")),
    "finished",
    "in_process",
    "no_follow_up",
    "verification_met",
    "verification_counted",
    "first_response_met",
    "first_response_counted",
    "completion_met",
    "completion_counted",
    "open",
    "overdue",
    "escalated",
    "escalations",
    "returned",
    "returns",
    "forwarded",
    "resolved",
    "first_contact_resolved",
    "reopened",
    "rated",
    "rating_sum",
)
HISTOGRAMS = ("verification_hist", "first_response_hist", "completion_hist")
BUCKETS = 61
COLUMNS = ", ".join([*SUMS, *HISTOGRAMS])


def summed() -> str:
    return ", ".join(
        [f"sum({c})::int" for c in SUMS]
        + [
            "ARRAY[" + ", ".join(f"sum({h}[{i}])::int" for i in range(1, BUCKETS + 1)) + "]"
            for h in HISTOGRAMS
        ]
    )


def rollup_columns() -> list[sa.Column[Any]]:
    return [
        *[sa.Column(name, sa.Integer(), nullable=False) for name in SUMS],
        *[sa.Column(name, postgresql.ARRAY(sa.Integer()), nullable=False) for name in HISTOGRAMS],
    ]


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
    op.create_table(
        "stats_area_weekly",
        sa.Column("week", sa.Date(), primary_key=True),
        sa.Column("area_code", sa.String(16), primary_key=True),
        sa.Column("category_code", sa.String(64), primary_key=True),
        *rollup_columns(),
        postgresql_with={"fillfactor": 40},
    )
    op.execute(
        f"INSERT INTO stats_area_weekly (week, area_code, category_code, {COLUMNS}) "
        f"SELECT week, area.code, category_code, {summed()} FROM stats_weekly "
        "CROSS JOIN LATERAL (VALUES (split_part(region_code, '.', 1)), ('')) AS area(code) "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )


def downgrade() -> None:
    op.drop_table("stats_area_weekly")
    op.drop_table("stats_category_counts")
