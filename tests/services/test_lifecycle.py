import itertools

import pytest

from services.domain.lifecycle import (
    STATUS_LABELS,
    TRANSITIONS,
    IllegalTransition,
    Status,
    check_transition,
)


def test_the_happy_path_is_allowed() -> None:
    path = [
        Status.submitted,
        Status.verified,
        Status.dispositioned,
        Status.in_progress,
        Status.responded,
        Status.resolved,
    ]
    for current, target in itertools.pairwise(path):
        assert check_transition(current.value, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.submitted, Status.resolved),
        (Status.archived, Status.verified),
        (Status.duplicate, Status.in_progress),
        (Status.verified, Status.responded),
    ],
)
def test_illegal_transitions_are_refused(current: Status, target: Status) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(current.value, target)
    assert info.value.current is current and info.value.target is target


def test_every_status_has_an_indonesian_label_and_a_rule() -> None:
    assert set(STATUS_LABELS) == set(Status) == set(TRANSITIONS)
    assert STATUS_LABELS[Status.dispositioned] == "Terdisposisi"
