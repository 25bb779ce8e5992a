"""Pure rules of webhook delivery: statuses, who gets an event, when to try again."""

import enum
from collections.abc import Sequence

from services.domain.regions import covers
from services.queue import backoff

# Full-jitter exponential backoff between attempts. With the default 8 attempts the retries span
# about half an hour on average (at most about an hour), long enough to ride out a receiver's
# restart or short maintenance window before the delivery becomes a dead letter.
RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 3600.0
RETRY_FLOOR_SECONDS = 1.0


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    succeeded = "succeeded"  # the receiver answered 2xx
    dead = "dead"  # every attempt failed: a dead letter
    cancelled = "cancelled"  # the endpoint was deactivated first


def in_scope(
    region_codes: Sequence[str],
    event_types: Sequence[str],
    *,
    event_type: str,
    region_code: str | None,
) -> bool:
    """An endpoint's filters admit an event: an empty filter admits everything; a region filter
    admits complaints inside any listed region (and nothing without a region)."""
    if event_types and event_type not in event_types:
        return False
    if not region_codes:
        return True
    return region_code is not None and any(covers(scope, region_code) for scope in region_codes)


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt."""
    return max(
        RETRY_FLOOR_SECONDS, backoff(attempts, base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS)
    )
