"""Indonesian working days: Monday to Friday, minus public holidays and cuti bersama.

Holidays come from the `holidays` package (country `ID`, categories `public` and
`government` — the latter is the joint leave, cuti bersama, of civil servants). Days are counted
in the agency's IANA time zone (Asia/Jakarta WIB, Asia/Makassar WITA, Asia/Jayapura WIT).

**The rule.** "N working days after t" is the *end* of the Nth working day after the local day
of t: the day t falls on never counts (whatever the hour, even if it is a working day), the next
N working days do, and the deadline is the last instant of the last one (23:59:59.999999 local).
That is what a person at the agency computes with a wall calendar: a complaint dispositioned to
Jayapura on Friday evening with 5 working days is due at the end of the fifth working day after
that Friday, in Jayapura. So `add_working_days(add_working_days(t, a), b) ==
add_working_days(t, a + b)`, the result always lies on a working day, and it grows with t and n.
"""

import bisect
import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

CATEGORIES = ("public", "government")
END_OF_DAY = time.max  # 23:59:59.999999


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    found = holidays.country_holidays("ID", years=year, categories=CATEGORIES)
    return frozenset(found.keys())


@functools.lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def holiday_name(day: date) -> str | None:
    """The holiday (or cuti bersama) on `day`, if any."""
    found = holidays.country_holidays("ID", years=day.year, categories=CATEGORIES)
    name: str | None = found.get(day)
    return name


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(zone(timezone)).date()


def end_of_day(day: date, timezone: str) -> datetime:
    """The last instant of `day` in `timezone`, in UTC."""
    return datetime.combine(day, END_OF_DAY, tzinfo=zone(timezone)).astimezone(UTC)


def start_of_day(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone(timezone)).astimezone(UTC)


def working_days_after(day: date) -> Iterator[date]:
    """The working days after `day`, in order (endless)."""
    current = day
    while True:
        current += timedelta(days=1)
        if is_working_day(current):
            yield current


@functools.lru_cache(maxsize=64)
def _working_ordinals(year: int) -> tuple[int, ...]:
    """The year's working days as ordinals, in order: counting and stepping over working days
    become bisections (the demo seed, the clocks and the statistics do it per complaint)."""
    day, end = date(year, 1, 1), date(year + 1, 1, 1)
    found = []
    while day < end:
        if is_working_day(day):
            found.append(day.toordinal())
        day += timedelta(days=1)
    return tuple(found)


def _working_days_before(day: date) -> int:
    """The working days of `day`'s year before `day`."""
    return bisect.bisect_left(_working_ordinals(day.year), day.toordinal())


def nth_working_day_after(day: date, n: int) -> date:
    """The Nth working day after `day` (n ≥ 1); `day` itself for n = 0."""
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        return day
    year, after = day.year, day.toordinal()
    while True:
        ordinals = _working_ordinals(year)
        i = bisect.bisect_right(ordinals, after)
        if i + n <= len(ordinals):
            return date.fromordinal(ordinals[i + n - 1])
        n -= len(ordinals) - i
        year += 1


def add_working_days(moment: datetime, n: int, timezone: str) -> datetime:
    """The end (23:59:59.999999 local) of the Nth working day after the local day of `moment`,
    in UTC; `moment` itself for n = 0."""
    if n == 0:
        return moment
    return end_of_day(nth_working_day_after(local_day(moment, timezone), n), timezone)


def shift_working_days(moment: datetime, n: int, timezone: str) -> datetime:
    """The same local time of day, on the Nth working day after the local day of `moment`
    (a pause moves a warning by the working days it took away)."""
    if n == 0:
        return moment
    local = moment.astimezone(zone(timezone))
    day = nth_working_day_after(local.date(), n)
    return datetime.combine(
        day, local.timetz().replace(tzinfo=None), tzinfo=zone(timezone)
    ).astimezone(UTC)


def _working_days_in(first: date, last: date) -> int:
    """How many working days lie in [first, last)."""
    if last <= first:
        return 0
    if first.year == last.year:
        return _working_days_before(last) - _working_days_before(first)
    count = len(_working_ordinals(first.year)) - _working_days_before(first)
    for year in range(first.year + 1, last.year):
        count += len(_working_ordinals(year))
    return count + _working_days_before(last)


def working_days_between(start: datetime, end: datetime, timezone: str) -> int:
    """How many working days lie in [local day of start, local day of end): the days a pause
    from `start` to `end` took away (zero within one day)."""
    return _working_days_in(local_day(start, timezone), local_day(end, timezone))


def _to_second(moment: datetime) -> datetime:
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


# Indonesia keeps no daylight saving time: every local day of WIB, WITA and WIT is 24 hours.
DAY = timedelta(days=1)
NONE = timedelta(0)


def point_in_working_time(
    start: datetime, end: datetime, fraction: float, timezone: str
) -> datetime:
    """The instant at which `fraction` of the working time between start and end has passed
    (the warning point of a clock). Falls back to wall time when there is no working time.

    The working time is the part of [start, end] on the first local day (if a working day),
    the whole working days in between and the part on the last local day; the point is found
    by counting whole working days (bisections), not by walking the days: the routing worker
    computes it for every clock it starts."""
    first, last = local_day(start, timezone), local_day(end, timezone)
    if last <= first:
        head, whole, tail = (end - start if is_working_day(first) else NONE), 0, NONE
    else:
        head = start_of_day(first + DAY, timezone) - start if is_working_day(first) else NONE
        whole = _working_days_in(first + DAY, last)
        tail = end - start_of_day(last, timezone) if is_working_day(last) else NONE
    total = head + DAY * whole + tail
    if total <= NONE:
        return start + (end - start) * fraction
    remaining = total * fraction
    if head > NONE and remaining <= head:
        return _to_second(start + remaining)
    remaining -= head
    if whole and remaining <= DAY * whole:
        # Within the k-th whole working day after the first, k ≥ 1.
        days, rest = divmod(remaining, DAY)
        k = max(1, days + (1 if rest else 0))
        day = nth_working_day_after(first, k)
        return _to_second(start_of_day(day, timezone) + (remaining - DAY * (k - 1)))
    remaining -= DAY * whole
    if remaining <= tail:
        return _to_second(start_of_day(last, timezone) + remaining)
    return end
