"""The SLA policy: how many working days each clock gives (PermenPANRB 62/2018 practice).

- verification, 3 working days: starts at submitted; stops at verified, archived, resolved.
- first_response, 5 (per handler agency): starts at dispositioned; stops at followed_up,
  returned, resolved.
- completion (per handler agency): aspirasi 5, permintaan_informasi 5, pengaduan 14, a
  pengaduan in korupsi_pungli 60; `Category.completion_days` overrides. Starts at
  dispositioned; stops at returned, resolved.
- reply_window, 10 (the reporter's): starts at followed_up; when it runs out the complaint
  closes as resolved. A reporter's reply stops it.
- reopening, 10 (the reporter's): a resolved complaint may be reopened until the end of the
  10th working day after its resolution (intake checks it; no clock runs).

Every clock warns at `sla_warning_fraction` (0.8) of its working time and is paused while the
complaint waits for the reporter or is on hold (the working days lost are added on resume)."""

from datetime import datetime

from services.domain.calendar import add_working_days, point_in_working_time
from services.models.routing import ClockKind

VERIFICATION_DAYS = 3
FIRST_RESPONSE_DAYS = 5
REPLY_WINDOW_DAYS = 10
REOPEN_WINDOW_DAYS = 10
COMPLETION_DAYS_BY_REPORT_TYPE = {
    "aspirasi": 5,
    "permintaan_informasi": 5,
    "pengaduan": 14,
}
# Supervisory content (pengawasan): a pengaduan in these categories takes longer.
SUPERVISORY_CATEGORIES = frozenset({"korupsi_pungli"})
SUPERVISORY_COMPLETION_DAYS = 60
DEFAULT_COMPLETION_DAYS = 14
# The national admins verify from Jakarta.
VERIFICATION_TIMEZONE = "Asia/Jakarta"


def completion_days(report_type: str, category_code: str, override: int | None = None) -> int:
    """Working days to finish a complaint: the category's override, else by report type."""
    if override is not None:
        return override
    if report_type == "pengaduan" and category_code in SUPERVISORY_CATEGORIES:
        return SUPERVISORY_COMPLETION_DAYS
    return COMPLETION_DAYS_BY_REPORT_TYPE.get(report_type, DEFAULT_COMPLETION_DAYS)


def working_days_of(
    kind: ClockKind, report_type: str, category_code: str, override: int | None = None
) -> int:
    if kind == ClockKind.verification:
        return VERIFICATION_DAYS
    if kind == ClockKind.first_response:
        return FIRST_RESPONSE_DAYS
    if kind == ClockKind.reply_window:
        return REPLY_WINDOW_DAYS
    return completion_days(report_type, category_code, override)


def deadlines(
    start: datetime, working_days: int, timezone: str, warning_fraction: float
) -> tuple[datetime, datetime]:
    """(warn_at, due_at) of a clock of `working_days` started at `start`."""
    due = add_working_days(start, working_days, timezone)
    return point_in_working_time(start, due, warning_fraction, timezone), due
