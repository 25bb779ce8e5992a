"""The working-day calendar and the SLA policy (acceptance 2): Nyepi, Idul Fitri and the cuti
bersama of 18–24 March 2026, across WIB, WITA and WIT; properties by hypothesis."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.domain.calendar import (
    add_working_days,
    holiday_name,
    is_working_day,
    local_day,
    nth_working_day_after,
    point_in_working_time,
    start_of_day,
    working_days_between,
)
from services.domain.sla import completion_days, deadlines, working_days_of
from services.models.routing import ClockKind

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_march_2026_holidays_and_joint_leave_are_not_working_days() -> None:
    # Wed 18 cuti bersama (Nyepi), Thu 19 Nyepi, Fri 20 cuti bersama (Idul Fitri), Sat 21 and
    # Sun 22 Idul Fitri, Mon 23 and Tue 24 cuti bersama: the whole 18–24 March is off.
    for day in range(18, 25):
        assert not is_working_day(date(2026, 3, day)), day
    assert holiday_name(date(2026, 3, 19)) == "Day of Silence"
    assert holiday_name(date(2026, 3, 23)) == "Eid al-Fitr Joint Holiday"
    assert is_working_day(date(2026, 3, 17))  # Tuesday before
    assert is_working_day(date(2026, 3, 25))  # Wednesday after
    assert not is_working_day(date(2026, 3, 14))  # a Saturday


def test_friday_evening_in_jayapura_is_due_when_jayapura_says() -> None:
    # Dispositioned to a WIT agency on Friday 13 March 2026 at 22:30 WIT (13:30 UTC), with 5
    # working days. In Jayapura, Friday itself does not count; Sat 14 and Sun 15 are the weekend;
    # Mon 16 is day 1, Tue 17 day 2; Wed 18 – Tue 24 are Nyepi, Idul Fitri and their cuti
    # bersama; Wed 25 is day 3, Thu 26 day 4, Fri 27 day 5. Due: the end of Friday 27 March
    # 2026 in Jayapura, 23:59:59.999999+09:00 = 14:59:59.999999 UTC.
    dispositioned = utc(2026, 3, 13, 13, 30)
    due = add_working_days(dispositioned, 5, WIT)
    assert local_day(due, WIT) == date(2026, 3, 27)
    assert due == datetime(2026, 3, 27, 14, 59, 59, 999999, tzinfo=UTC)
    # The same moment, for an agency in Jakarta: also Friday there (20:30 WIB), so the same
    # local day, but the day ends two hours later in UTC.
    assert add_working_days(dispositioned, 5, WIB) == datetime(
        2026, 3, 27, 16, 59, 59, 999999, tzinfo=UTC
    )


def test_the_local_day_decides_across_time_zones() -> None:
    # Sunday 15 March 2026 at 15:30 UTC is already Monday 16 March 00:30 in Jayapura but still
    # Sunday 22:30 in Jakarta and 23:30 in Makassar. One working day:
    moment = utc(2026, 3, 15, 15, 30)
    # Jayapura: Monday is the day of the event (it does not count); day 1 is Tuesday 17.
    assert local_day(add_working_days(moment, 1, WIT), WIT) == date(2026, 3, 17)
    # Jakarta and Makassar: Sunday is the day of the event; day 1 is Monday 16.
    assert local_day(add_working_days(moment, 1, WIB), WIB) == date(2026, 3, 16)
    assert local_day(add_working_days(moment, 1, WITA), WITA) == date(2026, 3, 16)
    # Two working days from Jayapura's Monday: Tuesday 17, then (18–24 off) Wednesday 25.
    assert local_day(add_working_days(moment, 2, WIT), WIT) == date(2026, 3, 25)


def test_three_working_day_verification_over_idul_fitri() -> None:
    # Submitted Tuesday 17 March 2026 10:00 WIB: day 1 Wed 25, day 2 Thu 26, day 3 Fri 27.
    warn_at, due_at = deadlines(utc(2026, 3, 17, 3), 3, WIB, 0.8)
    assert local_day(due_at, WIB) == date(2026, 3, 27)
    # 80 % of the working time: the rest of Tuesday (14 h) + three whole days (72 h) = 86 h;
    # 68.8 h in: 14 h (Tue) + 24 h (Wed 25) + 24 h (Thu 26) = 62 h, then 6.8 h into Friday 27.
    # (to the second): 06:48 WIB on Friday 27 March is 23:48 UTC on Thursday 26.
    assert warn_at == utc(2026, 3, 26, 23, 48)
    assert warn_at < due_at


def test_a_pause_loses_the_working_days_it_covered() -> None:
    # Paused Tuesday 17 March (WIB), resumed Wednesday 25: only Tuesday was a working day lost.
    assert working_days_between(utc(2026, 3, 17, 3), utc(2026, 3, 25, 3), WIB) == 1
    assert working_days_between(utc(2026, 3, 17, 3), utc(2026, 3, 17, 9), WIB) == 0
    assert working_days_between(utc(2026, 3, 9, 3), utc(2026, 3, 16, 3), WIB) == 5


def test_the_policy_table() -> None:
    assert working_days_of(ClockKind.verification, "pengaduan", "infrastruktur") == 3
    assert working_days_of(ClockKind.first_response, "pengaduan", "infrastruktur") == 5
    assert working_days_of(ClockKind.reply_window, "aspirasi", "infrastruktur") == 10
    assert completion_days("aspirasi", "infrastruktur") == 5
    assert completion_days("permintaan_informasi", "kesehatan") == 5
    assert completion_days("pengaduan", "infrastruktur") == 14
    assert completion_days("pengaduan", "korupsi_pungli") == 60
    assert completion_days("aspirasi", "korupsi_pungli") == 5
    assert completion_days("pengaduan", "infrastruktur", override=21) == 21


ZONES = st.sampled_from([WIB, WITA, WIT])
MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)
)
DAYS = st.integers(min_value=1, max_value=70)


@settings(max_examples=200, deadline=None)
@given(moment=MOMENTS, n=DAYS, timezone=ZONES)
def test_adding_working_days_lands_on_a_working_day(
    moment: datetime, n: int, timezone: str
) -> None:
    due = add_working_days(moment, n, timezone)
    assert is_working_day(local_day(due, timezone))
    assert due > moment


@settings(max_examples=200, deadline=None)
@given(moment=MOMENTS, a=DAYS, b=DAYS, timezone=ZONES)
def test_adding_is_monotonic_in_n(moment: datetime, a: int, b: int, timezone: str) -> None:
    small, large = sorted((a, b))
    assert add_working_days(moment, small, timezone) <= add_working_days(moment, large, timezone)
    if small < large:
        assert add_working_days(moment, small, timezone) < add_working_days(moment, large, timezone)


@settings(max_examples=200, deadline=None)
@given(
    moment=MOMENTS,
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    n=DAYS,
    timezone=ZONES,
)
def test_adding_is_monotonic_in_t(
    moment: datetime, later: timedelta, n: int, timezone: str
) -> None:
    assert add_working_days(moment, n, timezone) <= add_working_days(moment + later, n, timezone)


@settings(max_examples=200, deadline=None)
@given(moment=MOMENTS, a=DAYS, b=DAYS, timezone=ZONES)
def test_adding_a_then_b_is_adding_a_plus_b(
    moment: datetime, a: int, b: int, timezone: str
) -> None:
    assert add_working_days(add_working_days(moment, a, timezone), b, timezone) == (
        add_working_days(moment, a + b, timezone)
    )


@settings(max_examples=100, deadline=None)
@given(moment=MOMENTS, n=DAYS, timezone=ZONES, fraction=st.floats(0.05, 0.95))
def test_the_warning_lies_between_start_and_due(
    moment: datetime, n: int, timezone: str, fraction: float
) -> None:
    due = add_working_days(moment, n, timezone)
    warn = point_in_working_time(moment, due, fraction, timezone)
    assert moment <= warn <= due


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=-10, max_value=900),
)
def test_stepping_and_counting_agree_with_a_wall_calendar(start: date, n: int, span: int) -> None:
    # The bisections over each year's working days against walking day by day, across years.
    walked, day = start, start
    for _ in range(n):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
        walked = day
    assert nth_working_day_after(start, n) == walked
    end = start + timedelta(days=span)
    counted = sum(is_working_day(start + timedelta(days=i)) for i in range(max(span, 0)))
    midday_wib = datetime.combine(start, datetime.min.time(), tzinfo=UTC) + timedelta(hours=5)
    until = datetime.combine(end, datetime.min.time(), tzinfo=UTC) + timedelta(hours=5)
    assert working_days_between(midday_wib, until, WIB) == counted


def walked_point_in_working_time(
    start: datetime, end: datetime, fraction: float, timezone: str
) -> datetime:
    """The wall-calendar reading of `point_in_working_time`: walk the local days, keep the
    parts of [start, end] on working days, and step through them."""
    spans = []
    day, last = local_day(start, timezone), local_day(end, timezone)
    while day <= last:
        if is_working_day(day):
            a = max(start, start_of_day(day, timezone))
            b = min(end, start_of_day(day + timedelta(days=1), timezone))
            if b > a:
                spans.append((a, b))
        day += timedelta(days=1)
    total = sum((b - a for a, b in spans), timedelta(0))
    if total <= timedelta(0):
        return start + (end - start) * fraction
    remaining = total * fraction
    for a, b in spans:
        if remaining <= b - a:
            return (a + remaining + timedelta(microseconds=500_000)).replace(microsecond=0)
        remaining -= b - a
    return end


@settings(max_examples=400, deadline=None)
@given(
    start=MOMENTS,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100)),
    fraction=st.one_of(st.sampled_from([0.0, 0.5, 0.75, 1.0]), st.floats(0, 1)),
    timezone=ZONES,
    on_a_day_boundary=st.booleans(),
)
def test_the_warning_point_agrees_with_a_wall_calendar(
    start: datetime,
    length: timedelta,
    fraction: float,
    timezone: str,
    on_a_day_boundary: bool,
) -> None:
    # Counted by bisection over whole working days against walked day by day, from any hour
    # (or midnight, local) over holidays, weekends and year ends, in the three time zones.
    if on_a_day_boundary:
        start = start_of_day(local_day(start, timezone), timezone)
    end = start + length
    assert point_in_working_time(start, end, fraction, timezone) == (
        walked_point_in_working_time(start, end, fraction, timezone)
    )


def test_the_warning_point_over_the_march_2026_holidays() -> None:
    # Dispositioned Tue 17 March 10:00 WIB with 5 working days: 17 (14 h left), then 25, 26,
    # 27, 30 and 31 March (18–24 are off): 134 hours of working time. Three quarters of it,
    # 100.5 hours, are the 14 hours of the 17th, the whole 25th, 26th and 27th, and 14.5 hours
    # of 30 March: 14:30 WIB.
    start = utc(2026, 3, 17, 3)
    due = add_working_days(start, 5, WIB)
    assert due == datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC) - timedelta(hours=7)
    assert point_in_working_time(start, due, 0.75, WIB) == utc(2026, 3, 30, 7, 30)
