"""Pure rules of webhook delivery: statuses, who gets an event, when to try again, when to stop
trying an endpoint for a while (circuit breaker), how long order may hold a delivery back."""

import enum
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.domain.regions import covers
from services.queue import backoff

# Full-jitter exponential backoff between attempts. With the default 8 attempts the retries span
# about half an hour on average (at most about an hour), long enough to ride out a receiver's
# restart or short maintenance window before the delivery becomes a dead letter.
RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 3600.0
RETRY_FLOOR_SECONDS = 1.0

# Per endpoint, across every dispatcher process: attempts in flight at once (a probe after the
# circuit's cool-down is alone).
ENDPOINT_CONCURRENCY = 8

# After this many failed attempts in a row an endpoint's circuit opens: none of its deliveries is
# claimed (none loses an attempt) for a cool-down that doubles with each opening in a row.
BREAKER_FAILURES = 5
BREAKER_COOLDOWN_SECONDS = 30.0
BREAKER_MAX_COOLDOWN_SECONDS = 600.0

# Per complaint and endpoint, events go out in order: a delivery waits for the earlier ones of its
# complaint, but not for one pending longer than this (it no longer holds the others back).
ORDER_MAX_WAIT_SECONDS = 3600.0


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
    admits complaints inside any listed region (and nothing without a region).
    The fan-out's SQL (DeliveryRepository.fan_out) applies this same rule; a test holds them
    together."""
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


RetryDelay = Callable[[int], float]


@dataclass(frozen=True)
class Claim:
    """A delivery a dispatcher holds the lease of, with what it needs to send it."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    attempts: int  # made before this one; also the fence when the outcome is recorded
    url: str
    secret: str
    endpoint_active: bool
    event_type: str
    occurred_at: datetime
    data: dict[str, Any]
    trace_id: str | None = None  # of the event: sent on as the webhook's traceparent


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed delivery."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    attempts_before: int
    status: DeliveryStatus
    status_code: int | None = None
    error: str | None = None
    delivered_at: datetime | None = None
    retry_in: float | None = None  # seconds until the next attempt, when there is one

    @property
    def attempted(self) -> bool:
        """False for a delivery cancelled without sending."""
        return self.status != DeliveryStatus.cancelled

    @property
    def ok(self) -> bool:
        return self.status == DeliveryStatus.succeeded


def outcome_of(
    claim: Claim,
    status_code: int | None,
    error: str | None,
    *,
    at: datetime,
    max_attempts: int,
    delay: RetryDelay,
) -> Outcome:
    """A 2xx succeeds; anything else fails, and is retried after `delay(attempts)` until the
    `max_attempts`-th attempt, which makes a dead letter."""
    attempts = claim.attempts + 1
    ok = status_code is not None and 200 <= status_code < 300
    if ok:
        status, retry_in = DeliveryStatus.succeeded, None
    elif attempts >= max_attempts:
        status, retry_in = DeliveryStatus.dead, None
    else:
        status, retry_in = DeliveryStatus.pending, delay(attempts)
    return Outcome(
        claim.delivery_id,
        claim.endpoint_id,
        claim.attempts,
        status,
        status_code=status_code,
        error=error,
        delivered_at=at if ok else None,
        retry_in=retry_in,
    )


def cancelled(claim: Claim) -> Outcome:
    return Outcome(claim.delivery_id, claim.endpoint_id, claim.attempts, DeliveryStatus.cancelled)


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int = BREAKER_FAILURES
    cooldown_seconds: float = BREAKER_COOLDOWN_SECONDS
    max_cooldown_seconds: float = BREAKER_MAX_COOLDOWN_SECONDS


@dataclass(frozen=True)
class Circuit:
    """An endpoint's circuit: closed, open until a time, or half-open (its streak reached the
    threshold and the cool-down is over: one probe may go)."""

    failure_streak: int = 0
    trips: int = 0  # openings in a row, without a success between them
    open_until: datetime | None = None

    def after(self, ok: bool, now: datetime, policy: BreakerPolicy) -> "Circuit":
        """The circuit once an attempt finished. A success closes it; the failure that reaches
        the threshold opens it, as does a failed probe (with a doubled cool-down). Failures of
        attempts still in flight when it opened do not extend the cool-down."""
        if ok:
            return Circuit()
        streak = self.failure_streak + 1
        if streak >= policy.failures and (self.open_until is None or self.open_until <= now):
            cooldown = min(policy.max_cooldown_seconds, policy.cooldown_seconds * 2**self.trips)
            return Circuit(streak, self.trips + 1, now + timedelta(seconds=cooldown))
        return Circuit(streak, self.trips, self.open_until)
