"""Pure rules of webhook delivery: statuses, who gets an event, when to try again, when to stop
trying an endpoint for a while (circuit breaker), how long order may hold a delivery back."""

import enum
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from services.domain.regions import covers

# The Svix schedule: after the immediate first attempt, retries after these many seconds (5 s,
# 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27 hours in all). ADUAN_WEBHOOK_RETRY_SCHEDULE.
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = 410  # the receiver says the endpoint is gone for good: it is disabled

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
    agency_ids: Sequence[str] = (),
    event_agency_ids: Sequence[str] = (),
) -> bool:
    """An endpoint's filters admit a complaint event: an empty type filter admits every type;
    with no scope every complaint matches, else a complaint inside any listed region or
    assigned to any listed agency (nothing without a region or an agency matches those).
    The fan-out's SQL (DeliveryRepository.fan_out) applies this same rule; a test holds them
    together. `webhook.*` events are about endpoints, not complaints: no scope admits them (the
    fan-out sends them to the owner's and admins' endpoints that name them)."""
    if event_type.startswith("webhook."):
        return False
    if event_types and event_type not in event_types:
        return False
    if not region_codes and not agency_ids:
        return True
    if region_code is not None and any(covers(scope, region_code) for scope in region_codes):
        return True
    return any(agency in agency_ids for agency in event_agency_ids)


RetryDelay = Callable[[int], float]


def schedule_delay(schedule: Sequence[float]) -> RetryDelay:
    """Seconds to wait after the `attempts`-th failed attempt, by the retry schedule."""
    waits = tuple(schedule)

    def delay(attempts: int) -> float:
        return waits[min(attempts, len(waits)) - 1]

    return delay


retry_delay = schedule_delay(DEFAULT_RETRY_SCHEDULE)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


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
    previous_secret: str | None = None  # still signing: a rotation's grace period
    sequence: int | None = None  # the event's position in its complaint's history
    owner_kind: str = "admin"
    agency_ids: tuple[str, ...] = ()  # the endpoint's agency scope


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
    attempted_at: datetime | None = None
    latency_ms: int | None = None
    response: str | None = None  # the start of the receiver's answer
    gone: bool = False  # a 410: the endpoint is disabled
    event_id: uuid.UUID | None = None
    event_type: str | None = None

    @property
    def attempted(self) -> bool:
        """False for a delivery cancelled without sending."""
        return self.status != DeliveryStatus.cancelled

    @property
    def ok(self) -> bool:
        return self.status == DeliveryStatus.succeeded


@dataclass(frozen=True)
class Attempt:
    """What one HTTP attempt got."""

    status_code: int | None
    error: str | None
    at: datetime  # when it started
    latency_ms: int | None = None
    response: str | None = None
    retry_after: float | None = None  # seconds, from a 429's or 503's Retry-After


def outcome_of(
    claim: Claim,
    attempt: Attempt,
    *,
    max_attempts: int,
    delay: RetryDelay,
    retry_after_max: float = 3600.0,
) -> Outcome:
    """A 2xx succeeds; a 410 fails for good (the endpoint is gone); anything else fails, and is
    retried after `delay(attempts)`, or later when a 429/503 asked so (up to `retry_after_max`),
    until the `max_attempts`-th attempt, which makes a dead letter."""
    attempts = claim.attempts + 1
    code = attempt.status_code
    ok = code is not None and 200 <= code < 300
    gone = code == GONE
    retry_in: float | None = None
    if ok:
        status = DeliveryStatus.succeeded
    elif gone or attempts >= max_attempts:
        status = DeliveryStatus.dead
    else:
        status, retry_in = DeliveryStatus.pending, delay(attempts)
        if code in RETRY_AFTER_STATUSES and attempt.retry_after is not None:
            retry_in = max(retry_in, min(attempt.retry_after, retry_after_max))
    return Outcome(
        claim.delivery_id,
        claim.endpoint_id,
        claim.attempts,
        status,
        status_code=code,
        error=attempt.error,
        delivered_at=attempt.at if ok else None,
        retry_in=retry_in,
        attempted_at=attempt.at,
        latency_ms=attempt.latency_ms,
        response=attempt.response,
        gone=gone,
        event_id=claim.event_id,
        event_type=claim.event_type,
    )


def cancelled(claim: Claim) -> Outcome:
    return Outcome(claim.delivery_id, claim.endpoint_id, claim.attempts, DeliveryStatus.cancelled)


@dataclass(frozen=True)
class EndpointState:
    """What recording an attempt needs to know of its endpoint besides its circuit."""

    id: uuid.UUID
    active: bool
    owner_kind: str
    owner_ref: str | None
    url: str
    failing_since: datetime | None
    last_success_at: datetime | None = None


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
