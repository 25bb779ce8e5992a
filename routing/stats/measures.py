"""From summed counts to measures, and from measures to grades. Pure.

A region's (or agency's, or week's) `Totals` are the sums of its `stats_weekly` rows (or of its
facts); every measure below is computed from them, so the same code serves regions, agencies
and trends. Rates are percentages with their numerator and denominator; a measure whose
denominator is below `stats_min_count` is flagged `small` and left out of grades.
"""

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

from services.models.stats import HISTOGRAM_BUCKETS

CLOCKS = ("verification", "first_response", "completion")
SHARES = ("finished", "in_process", "no_follow_up")
SUMS = (
    "complaints",
    *SHARES,
    *(f"{kind}_{part}" for kind in CLOCKS for part in ("met", "counted")),
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
HISTOGRAMS = tuple(f"{kind}_hist" for kind in CLOCKS)
GRADES = ("Sangat Baik", "Baik", "Sedang", "Kurang")

# Every measure: what it is (the OpenAPI descriptions and docs/architecture.md repeat these).
MEASURES: dict[str, str] = {
    "complaints": "complaints submitted in the period",
    "per_100k": "complaints per 100,000 inhabitants",
    "finished_share": "% finished (selesai) of complaints not archived or duplicate",
    "in_process_share": "% in process (with a follow-up, or being worked on), same base",
    "no_follow_up_share": "% with no follow-up yet, same base",
    "verification_compliance": "% of counted verifications done within their deadline",
    "verification_median_days": "median working days to verification",
    "verification_p90_days": "90th percentile working days to verification",
    "first_response_compliance": "% of counted first follow-ups within their deadline",
    "first_response_median_days": "median working days to the first follow-up",
    "first_response_p90_days": "90th percentile working days to the first follow-up",
    "completion_compliance": "% of counted completions within their deadline",
    "completion_median_days": "median working days to completion",
    "completion_p90_days": "90th percentile working days to completion",
    "backlog": "complaints still open",
    "overdue": "open complaints with a running deadline past due",
    "overdue_share": "% of open complaints that are overdue",
    "backlog_on_time": "% of open complaints that are not overdue (100 - overdue_share)",
    "escalation_rate": "% of complaints escalated at least once",
    "escalations": "escalation events",
    "return_rate": "% of complaints returned (bukan wewenang) at least once",
    "returns": "returns (bukan wewenang)",
    "forwarding_rate": "% of complaints that changed agency",
    "first_contact_resolution": "% of resolved complaints closed by the first agency with "
    "exactly one follow-up",
    "reopen_rate": "% of resolved complaints reopened by the reporter",
    "rating": "average reporter rating (1-5)",
}
# The sums (and histograms) each measure is computed from: a call that shows a few measures
# (a trend, the ranking) sums only these.
NEEDS: dict[str, tuple[str, ...]] = {
    "complaints": ("complaints",),
    "per_100k": ("complaints",),
    **{f"{name}_share": SHARES for name in SHARES},
    **{f"{kind}_compliance": (f"{kind}_met", f"{kind}_counted") for kind in CLOCKS},
    **{f"{kind}_{p}_days": (f"{kind}_hist",) for kind in CLOCKS for p in ("median", "p90")},
    "backlog": ("open",),
    "overdue": ("open", "overdue"),
    "overdue_share": ("open", "overdue"),
    "backlog_on_time": ("open", "overdue"),
    "escalation_rate": ("escalated", "complaints"),
    "escalations": ("escalations",),
    "return_rate": ("returned", "complaints"),
    "returns": ("returns",),
    "forwarding_rate": ("forwarded", "complaints"),
    "first_contact_resolution": ("first_contact_resolved", "resolved"),
    "reopen_rate": ("reopened", "resolved"),
    "rating": ("rated", "rating_sum"),
}


def needed(measures: Iterable[str]) -> tuple[str, ...]:
    """The sums and histograms these measures are computed from, in SUMS/HISTOGRAMS order."""
    found = {column for name in measures for column in NEEDS[name]}
    return tuple(c for c in (*SUMS, *HISTOGRAMS) if c in found)


# How a measure becomes a 0-100 score for grading (higher is better).
SCORED = {
    "verification_compliance",
    "first_response_compliance",
    "completion_compliance",
    "backlog_on_time",
    "first_contact_resolution",
    "rating",
}


@dataclass
class Totals:
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMS, 0))
    hists: dict[str, list[int]] = field(
        default_factory=lambda: {h: [0] * HISTOGRAM_BUCKETS for h in HISTOGRAMS}
    )

    @classmethod
    def of(cls, row: Mapping[str, object]) -> "Totals":
        hists: dict[str, list[int]] = {}
        for name in HISTOGRAMS:
            values = row.get(name) or ()
            assert isinstance(values, Sequence)
            hists[name] = [v or 0 for v in values] + [0] * (HISTOGRAM_BUCKETS - len(values))
        return cls(
            {name: int(row.get(name) or 0) for name in SUMS},  # type: ignore[call-overload]
            hists,
        )

    def add(self, other: "Totals") -> None:
        for name in SUMS:
            self.sums[name] += other.sums[name]
        for name in HISTOGRAMS:
            self.hists[name] = [
                a + b for a, b in zip(self.hists[name], other.hists[name], strict=True)
            ]


class Measure(NamedTuple):
    # A named tuple, not a dataclass: a kabupaten/kota listing builds ~13,000 of them per call.
    value: float | None
    numerator: int | None = None
    denominator: int | None = None
    small: bool = False


def percentiles(histogram: Sequence[int], fractions: Sequence[float]) -> list[int | None]:
    """Nearest rank: the least value with at least `fraction` of the observations at or below
    it (the median of 1, 2, 3, 4 working days is 2)."""
    seen = list(accumulate(histogram))  # observations at or below each value
    total = seen[-1] if seen else 0
    if total == 0:
        return [None] * len(fractions)
    last = len(histogram) - 1
    return [
        # rank = ceil(total × fraction), at least 1
        min(bisect_left(seen, max(1, -(-total * round(fraction * 100) // 100))), last)
        for fraction in fractions
    ]


def percentile(histogram: Sequence[int], fraction: float) -> int | None:
    return percentiles(histogram, (fraction,))[0]


def _rate(numerator: int, denominator: int, min_count: int) -> Measure:
    value = round(100 * numerator / denominator, 1) if denominator else None
    return Measure(value, numerator, denominator, denominator < min_count)


def compute(totals: Totals, min_count: int, population: int | None = None) -> dict[str, Measure]:
    s = totals.sums
    complaints = s["complaints"]
    measures: dict[str, Measure] = {
        "complaints": Measure(float(complaints), complaints, None, complaints < min_count)
    }
    measures["per_100k"] = Measure(
        round(complaints * 100_000 / population, 2) if population else None,
        complaints,
        population,
        complaints < min_count,
    )
    shared = sum(s[name] for name in SHARES)
    for name in SHARES:
        measures[f"{name}_share"] = _rate(s[name], shared, min_count)
    for kind in CLOCKS:
        counted = s[f"{kind}_counted"]
        measures[f"{kind}_compliance"] = _rate(s[f"{kind}_met"], counted, min_count)
        histogram = totals.hists[f"{kind}_hist"]
        timed = sum(histogram)
        median, p90 = percentiles(histogram, (0.5, 0.9))
        for label, found in (("median", median), ("p90", p90)):
            measures[f"{kind}_{label}_days"] = Measure(
                float(found) if found is not None else None, None, timed, timed < min_count
            )
    measures["backlog"] = Measure(float(s["open"]), s["open"], None, s["open"] < min_count)
    measures["overdue"] = Measure(
        float(s["overdue"]), s["overdue"], s["open"], s["open"] < min_count
    )
    measures["overdue_share"] = _rate(s["overdue"], s["open"], min_count)
    measures["backlog_on_time"] = _rate(s["open"] - s["overdue"], s["open"], min_count)
    measures["escalation_rate"] = _rate(s["escalated"], complaints, min_count)
    measures["escalations"] = Measure(float(s["escalations"]), s["escalations"], None, False)
    measures["return_rate"] = _rate(s["returned"], complaints, min_count)
    measures["returns"] = Measure(float(s["returns"]), s["returns"], None, False)
    measures["forwarding_rate"] = _rate(s["forwarded"], complaints, min_count)
    measures["first_contact_resolution"] = _rate(
        s["first_contact_resolved"], s["resolved"], min_count
    )
    measures["reopen_rate"] = _rate(s["reopened"], s["resolved"], min_count)
    rated = s["rated"]
    measures["rating"] = Measure(
        round(s["rating_sum"] / rated, 2) if rated else None,
        s["rating_sum"],
        rated,
        rated < min_count,
    )
    return measures


@dataclass(frozen=True)
class GradingPolicy:
    thresholds: tuple[float, float, float]  # least scores of Sangat Baik, Baik, Sedang
    weights: dict[str, float]

    @classmethod
    def parse(cls, thresholds: Sequence[str], weights: Sequence[str]) -> "GradingPolicy":
        found = tuple(float(t) for t in thresholds)
        if len(found) != 3 or not found[0] >= found[1] >= found[2]:
            raise ValueError("stats_grade_thresholds: three descending scores")
        parsed: dict[str, float] = {}
        for item in weights:
            name, _, weight = item.partition("=")
            if name.strip() not in SCORED:
                raise ValueError(f"stats_grade_weights: {name!r} is not a scored measure")
            parsed[name.strip()] = float(weight)
        return cls((found[0], found[1], found[2]), parsed)


@dataclass(frozen=True)
class Loss:
    measure: str
    value: float
    score: float
    weight: float
    points_lost: float


@dataclass(frozen=True)
class Grade:
    grade: str | None
    score: float | None
    losses: list[Loss]  # largest first
    excluded: list[str]  # small (or empty) measures left out
    reason: str


def score_of(name: str, value: float) -> float:
    """A measure as 0-100 (higher is better): rates as they are, a rating of 1-5 mapped on."""
    if name == "rating":
        return (value - 1) * 25
    return value


def grade(measures: Mapping[str, Measure], policy: GradingPolicy) -> Grade:
    """The weighted mean score of the measures that are not small; each measure's loss is its
    weight share × (100 - its score), so the losses add up to 100 - score."""
    used: dict[str, tuple[float, float]] = {}
    excluded: list[str] = []
    for name, weight in policy.weights.items():
        measure = measures[name]
        if measure.value is None or measure.small or weight <= 0:
            excluded.append(name)
            continue
        used[name] = (measure.value, weight)
    if not used:
        return Grade(None, None, [], excluded, "too few complaints to grade")
    total_weight = sum(w for _, w in used.values())
    losses = sorted(
        (
            Loss(
                name,
                value,
                round(score_of(name, value), 1),
                weight,
                round(weight / total_weight * (100 - score_of(name, value)), 1),
            )
            for name, (value, weight) in used.items()
        ),
        key=lambda loss: (-loss.points_lost, loss.measure),
    )
    score = round(
        100
        - sum(
            weight / total_weight * (100 - score_of(name, value))
            for name, (value, weight) in used.items()
        ),
        1,
    )
    label = GRADES[-1]
    for threshold, name in zip(policy.thresholds, GRADES, strict=False):
        if score >= threshold:
            label = name
            break
    return Grade(label, score, losses, excluded, _reason(label, score, losses, policy))


def _reason(label: str, score: float, losses: Sequence[Loss], policy: GradingPolicy) -> str:
    index = GRADES.index(label)
    worst = losses[0]
    if index == 0 or worst.points_lost == 0:
        return f"{label}: score {score}"
    above = GRADES[index - 1]
    short = round(policy.thresholds[index - 1] - score, 1)
    return (
        f"{label}: score {score}, {short} below {above}; {worst.measure} "
        f"({worst.value}) pulled it down most, by {worst.points_lost} points"
    )
