"""The statistics' arithmetic on its own: percentiles from histograms, grading policy."""

import pytest
from pydantic import ValidationError

from routing.stats.measures import GradingPolicy, Measure, grade, percentile
from services.settings import Settings


def test_percentiles_are_nearest_rank() -> None:
    # 1, 2, 3, 4 working days
    histogram = [0, 1, 1, 1, 1]
    assert percentile(histogram, 0.5) == 2
    assert percentile(histogram, 0.9) == 4
    assert percentile([0, 0, 0], 0.5) is None


def test_the_best_grade_needs_no_reason_beyond_its_score() -> None:
    policy = GradingPolicy.parse(["85", "70", "55"], ["completion_compliance=1"])

    found = grade({"completion_compliance": Measure(90.0, 9, 10)}, policy)

    assert found.grade == "Sangat Baik"
    assert found.reason == "Sangat Baik: score 90.0"


def test_a_grade_below_the_lowest_threshold_is_kurang() -> None:
    policy = GradingPolicy.parse(["85", "70", "55"], ["completion_compliance=1"])

    found = grade({"completion_compliance": Measure(40.0, 4, 10)}, policy)

    assert found.grade == "Kurang"
    assert found.reason.startswith("Kurang: score 40.0, 15.0 below Sedang")


def test_a_weight_on_an_unknown_measure_is_refused() -> None:
    with pytest.raises(ValueError, match="not a scored measure"):
        GradingPolicy.parse(["85", "70", "55"], ["speed=1"])


def test_thresholds_must_descend() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, stats_grade_thresholds="55,70,85")  # type: ignore[call-arg]
