"""statistics at 1,000,000 complaints: breakdowns as int columns, rollups over spans of weeks

The rollup rows' by_status / by_report_type / by_channel JSONB objects become one int column per
value (summed directly instead of through jsonb_each_text), and stats_spans holds the weekly
rows summed over aligned spans of 4, 16 and 64 weeks (a year reads ~8 rows per region, not 53).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 03:10:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("stats_weekly", "stats_weekly_agencies")
BREAKDOWNS = {
    "status": (
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
    ),
    "report_type": ("pengaduan", "aspirasi", "permintaan_informasi"),
    "channel": ("mobile", "web", "sms", "regional_system", "open311"),
}
HISTOGRAMS = ("verification_hist", "first_response_hist", "completion_hist")
BUCKETS = 61
SUMS = (
    "complaints",
    *(f"{d}_{v}" for d, values in BREAKDOWNS.items() for v in values),
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
LEVELS = (2, 4, 6)
EPOCH = "DATE '2000-01-03'"


def span_columns() -> list[sa.Column[Any]]:
    return [
        *[sa.Column(name, sa.Integer(), nullable=False) for name in SUMS],
        *[sa.Column(name, postgresql.ARRAY(sa.Integer()), nullable=False) for name in HISTOGRAMS],
    ]


def summed() -> str:
    return ", ".join(
        [f"sum({c})::int" for c in SUMS]
        + [
            "ARRAY[" + ", ".join(f"sum({h}[{i}])::int" for i in range(1, BUCKETS + 1)) + "]"
            for h in HISTOGRAMS
        ]
    )


def upgrade() -> None:
    for table in TABLES:
        for dimension, values in BREAKDOWNS.items():
            for value in values:
                op.add_column(
                    table,
                    sa.Column(
                        f"{dimension}_{value}", sa.Integer(), server_default="0", nullable=False
                    ),
                )
        op.execute(
            f"UPDATE {table} SET "
            + ", ".join(
                f"{d}_{v} = coalesce((by_{d}->>'{v}')::int, 0)"
                for d, values in BREAKDOWNS.items()
                for v in values
            )
        )
        for dimension, values in BREAKDOWNS.items():
            op.drop_column(table, f"by_{dimension}")
            for value in values:
                op.alter_column(table, f"{dimension}_{value}", server_default=None)
    op.create_table(
        "stats_spans",
        sa.Column("level", sa.SmallInteger(), primary_key=True),
        sa.Column("start", sa.Date(), primary_key=True),
        sa.Column("region_code", sa.String(16), primary_key=True),
        sa.Column("category_code", sa.String(64), primary_key=True),
        *span_columns(),
    )
    op.create_index(
        "ix_stats_spans_category_level_start", "stats_spans", ["category_code", "level", "start"]
    )
    columns = ", ".join([*SUMS, *HISTOGRAMS])
    for level in LEVELS:
        days = 7 * 2**level
        op.execute(
            f"INSERT INTO stats_spans (level, start, region_code, category_code, {columns}) "
            f"SELECT {level}, {EPOCH} + {days} * floor((week - {EPOCH}) / {days}.0)::int, "
            f"region_code, category_code, {summed()} FROM stats_weekly GROUP BY 2, 3, 4"
        )


def downgrade() -> None:
    op.drop_index("ix_stats_spans_category_level_start", table_name="stats_spans")
    op.drop_table("stats_spans")
    for table in TABLES:
        for dimension in BREAKDOWNS:
            op.add_column(
                table,
                sa.Column(
                    f"by_{dimension}",
                    postgresql.JSONB(),
                    server_default=sa.text("'{}'"),
                    nullable=False,
                ),
            )
        op.execute(
            f"UPDATE {table} SET "
            + ", ".join(
                f"by_{d} = jsonb_strip_nulls(jsonb_build_object("
                + ", ".join(f"'{v}', nullif({d}_{v}, 0)" for v in values)
                + "))"
                for d, values in BREAKDOWNS.items()
            )
        )
        for dimension, values in BREAKDOWNS.items():
            op.alter_column(table, f"by_{dimension}", server_default=None)
            for value in values:
                op.drop_column(table, f"{dimension}_{value}")
