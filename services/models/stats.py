"""Statistics aggregates; owned by the routing service (routing/stats), kept current by its
watermark job from the events. Never read the complaint table per statistics call: these are.

- `stats_complaint_facts`: one row per complaint, every measure already derived (working days,
  met or missed, returned, forwarded, ...), recomputed whenever the complaint has an event.
- `stats_weekly` (`stats_weekly_agencies`): per ISO week (WIB), kabupaten/kota (or province,
  for a complaint located at a province only; or agency, offices rolled up) and category, the
  facts summed; `category_code = ''` rows sum every
  category, so a call without a category reads one row per region and week. Durations are
  histograms by whole working days (the last bucket holds everything longer).
"""

import uuid
from datetime import date, datetime

from sqlalchemy import ARRAY, ForeignKey, Index, Integer, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base
from services.models.event import Event

# Working-day histogram buckets: 0 … 60, the last holding 60 and more.
HISTOGRAM_BUCKETS = 61
# stats_spans: sums over 2**level weeks (4, 16, 64), aligned on Mondays counted from the epoch.
SPAN_LEVELS = (2, 4, 6)
SPAN_EPOCH = date(2000, 1, 3)  # a Monday


class StatsComplaintFact(Base):
    __tablename__ = "stats_complaint_facts"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True
    )
    submitted_at: Mapped[datetime]
    week: Mapped[date]  # the Monday of the submission's week, in WIB
    region_code: Mapped[str] = mapped_column(String(16))  # kabupaten/kota, or a province
    category_code: Mapped[str] = mapped_column(String(64))
    report_type: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    # finished | in_process | no_follow_up (KemenPANRB), None for archived and duplicates
    share: Mapped[str | None] = mapped_column(String(16), default=None)
    # Every agency that handled it, and every agency above those (offices roll up).
    agency_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), default=list, server_default=text("'{}'")
    )
    verification_days: Mapped[int | None] = mapped_column(default=None)
    verification_met: Mapped[bool | None] = mapped_column(default=None)
    first_response_days: Mapped[int | None] = mapped_column(default=None)
    first_response_met: Mapped[bool | None] = mapped_column(default=None)
    completion_days: Mapped[int | None] = mapped_column(default=None)
    completion_met: Mapped[bool | None] = mapped_column(default=None)
    is_open: Mapped[bool]
    overdue: Mapped[bool]
    escalations: Mapped[int] = mapped_column(default=0)
    returns: Mapped[int] = mapped_column(default=0)
    forwarded: Mapped[bool] = mapped_column(default=False)
    ever_resolved: Mapped[bool] = mapped_column(default=False)
    first_contact_resolved: Mapped[bool] = mapped_column(default=False)
    reopened: Mapped[int] = mapped_column(default=0)
    rating: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    last_event_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_stats_facts_week_region", "week", "region_code"),
        Index("ix_stats_facts_stalled", "last_event_at", postgresql_where=text("is_open")),
        Index("ix_stats_facts_overdue", "submitted_at", postgresql_where=text("overdue")),
        Index("ix_stats_facts_returned", "submitted_at", postgresql_where=text("returns > 1")),
    )


class RollupColumns:
    """The sums a rollup row keeps (one cell: a week × a region or an agency × a category)."""

    complaints: Mapped[int]
    # The complaints per status, report type and channel (BREAKDOWNS: `<dimension>_<value>`).
    status_submitted: Mapped[int]
    status_verified: Mapped[int]
    status_dispositioned: Mapped[int]
    status_in_progress: Mapped[int]
    status_responded: Mapped[int]
    status_resolved: Mapped[int]
    status_on_hold: Mapped[int]
    status_archived: Mapped[int]
    status_returned: Mapped[int]
    status_duplicate: Mapped[int]
    report_type_pengaduan: Mapped[int]
    report_type_aspirasi: Mapped[int]
    report_type_permintaan_informasi: Mapped[int]
    channel_mobile: Mapped[int]
    channel_web: Mapped[int]
    channel_sms: Mapped[int]
    channel_regional_system: Mapped[int]
    channel_open311: Mapped[int]
    finished: Mapped[int]
    in_process: Mapped[int]
    no_follow_up: Mapped[int]
    verification_met: Mapped[int]
    verification_counted: Mapped[int]
    verification_hist: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    first_response_met: Mapped[int]
    first_response_counted: Mapped[int]
    first_response_hist: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    completion_met: Mapped[int]
    completion_counted: Mapped[int]
    completion_hist: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    open: Mapped[int]
    overdue: Mapped[int]
    escalated: Mapped[int]
    escalations: Mapped[int]
    returned: Mapped[int]
    returns: Mapped[int]
    forwarded: Mapped[int]
    resolved: Mapped[int]
    first_contact_resolved: Mapped[int]
    reopened: Mapped[int]
    rated: Mapped[int]
    rating_sum: Mapped[int]


class StatsWeekly(RollupColumns, Base):
    __tablename__ = "stats_weekly"

    week: Mapped[date] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' = all

    __table_args__ = (Index("ix_stats_weekly_category_week", "category_code", "week"),)


class StatsWeeklyAgency(RollupColumns, Base):
    """The same per agency: a complaint counts for every agency that handled it and every
    agency above those (the offices roll up), so an agency reads ~52 rows for a year."""

    __tablename__ = "stats_weekly_agencies"

    week: Mapped[date] = mapped_column(primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' = all


class StatsSpan(RollupColumns, Base):
    """The weekly rows summed over aligned spans of 2**level weeks (SPAN_LEVELS: 4, 16 and 64
    weeks, counted from SPAN_EPOCH), so a year's statistics read about 8 rows per region and
    category instead of 53: the period is cut into whole spans and the weeks at its edges
    (routing/stats/repository.py `cover`). Rebuilt with the weekly rows they sum."""

    __tablename__ = "stats_spans"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    start: Mapped[date] = mapped_column(primary_key=True)  # a Monday
    region_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' = all

    __table_args__ = (
        Index("ix_stats_spans_category_level_start", "category_code", "level", "start"),
    )


class StatsAreaWeekly(RollupColumns, Base):
    """The weekly rows summed per province (`area_code` = the province's code, its own
    complaints and its kabupaten/kota's) and for the whole country (`area_code` = ''): a
    province-level call or a trend reads ~40 rows a week (a table small enough to stay in
    memory) instead of the 552 region rows. Kept by rebuild() with the weekly rows: the rows of
    the cells it rebuilds are taken out of their areas' sums before and added back after."""

    __tablename__ = "stats_area_weekly"

    week: Mapped[date] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(16), primary_key=True)  # '' = the country
    category_code: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' = all

    # Its rows are updated in place by every refresh: pages left half empty keep the updates
    # HOT, so the old versions are pruned as the pages are read, even without a VACUUM.
    __table_args__ = ({"postgresql_with": {"fillfactor": 40}},)


class StatsCategoryCount(Base):
    """The complaints per category of every weekly row (level 0, `start` = the week) and span
    (level 2, 4, 6) in a narrow row of its own: the counts by category of a year of every
    kabupaten/kota are ~36,000 cells, read here instead of from the ~1 KB rollup rows (with
    their histograms) that hold them too. Rebuilt with the rows they copy."""

    __tablename__ = "stats_category_counts"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 0: one week
    start: Mapped[date] = mapped_column(primary_key=True)  # a Monday
    region_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(64), primary_key=True)  # never ''
    complaints: Mapped[int]


class StatsWatermark(Base):
    """How far the refresh job has read the events (by `occurred_at`)."""

    __tablename__ = "stats_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    occurred_at: Mapped[datetime]
    event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


# The refresh job reads the events by time; the events table had no index for that.
Index("ix_events_occurred_at", Event.occurred_at)
