"""When the record step writes an endpoint's health: only what changed (or a stale success)."""

import uuid
from datetime import UTC, datetime, timedelta

from notifications.domain import EndpointState
from notifications.service import LAST_SUCCESS_RESOLUTION, _health_changed

AT = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def state(failing_since: datetime | None, last_success_at: datetime | None) -> EndpointState:
    return EndpointState(
        uuid.uuid4(), True, "admin", None, "https://x.example", failing_since, last_success_at
    )


def test_a_healthy_endpoint_is_written_once_a_minute() -> None:
    fresh = state(None, AT - timedelta(seconds=5))
    stale = state(None, AT - LAST_SUCCESS_RESOLUTION)
    assert not _health_changed(fresh, True, AT)
    assert _health_changed(stale, True, AT)
    assert _health_changed(state(None, None), True, AT)


def test_a_success_after_failures_is_always_written() -> None:
    assert _health_changed(state(AT - timedelta(hours=1), AT - timedelta(seconds=1)), True, AT)


def test_only_the_first_failure_is_written() -> None:
    assert _health_changed(state(None, AT - timedelta(seconds=1)), False, AT)
    assert not _health_changed(state(AT - timedelta(hours=1), None), False, AT)
