"""How a dispatcher runs: the settings it reads, and the tuning that has no setting (yet).

Tests build a `DispatchConfig` with short delays instead of patching module constants.
"""

from dataclasses import dataclass, field
from typing import Any

from notifications.domain import (
    DEFAULT_RETRY_SCHEDULE,
    ENDPOINT_CONCURRENCY,
    ORDER_MAX_WAIT_SECONDS,
    BreakerPolicy,
    RetryDelay,
    retry_delay,
    schedule_delay,
)
from notifications.targets import Lookup, resolve
from services.settings import Settings

MAX_IN_FLIGHT = 128  # attempts in flight per process (also its HTTP connection pool)
POLL_SECONDS = 0.2  # between claims when nothing woke the dispatcher
# A lease outlives the attempt's timeout by this much (recording the outcome, a slow database),
# so a delivery is claimed again only when its dispatcher is gone, not while it is still busy.
LEASE_MARGIN_SECONDS = 30.0
# At shutdown, attempts in flight get this long to finish, and then their outcomes as long again
# to be recorded (process managers give about 10 s between SIGTERM and SIGKILL).
SHUTDOWN_GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class DispatchConfig:
    timeout_seconds: float = 10.0
    max_attempts: int = len(DEFAULT_RETRY_SCHEDULE) + 1
    allow_private_targets: bool = False
    max_in_flight: int = MAX_IN_FLIGHT
    endpoint_concurrency: int = ENDPOINT_CONCURRENCY
    lease_seconds: float = 10.0 + LEASE_MARGIN_SECONDS
    poll_seconds: float = POLL_SECONDS
    order_max_wait_seconds: float = ORDER_MAX_WAIT_SECONDS
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    retry_delay: RetryDelay = retry_delay
    shutdown_grace_seconds: float = SHUTDOWN_GRACE_SECONDS
    retry_after_max_seconds: float = 3600.0
    secret_keys: tuple[str, ...] = ()  # ADUAN_WEBHOOK_SECRET_KEYS (notifications.vault)
    disable_after_failing_seconds: float = 5 * 86400.0
    lookup: Lookup = resolve  # DNS; tests give a resolver they control

    def __post_init__(self) -> None:
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError("a lease must outlive the attempt's timeout")
        if self.max_in_flight < 1 or self.endpoint_concurrency < 1:
            raise ValueError("concurrency limits must be positive")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> "DispatchConfig":
        timeout = settings.webhook_timeout_seconds
        values: dict[str, Any] = {
            "timeout_seconds": timeout,
            "max_attempts": len(settings.webhook_retry_schedule) + 1,
            "retry_delay": schedule_delay(settings.webhook_retry_schedule),
            "retry_after_max_seconds": settings.webhook_retry_after_max_seconds,
            "secret_keys": tuple(settings.webhook_secret_keys),
            "disable_after_failing_seconds": settings.webhook_disable_after_failing_seconds,
            "allow_private_targets": settings.webhook_allow_private_targets,
            "max_in_flight": settings.webhook_max_in_flight,
            "endpoint_concurrency": settings.webhook_endpoint_concurrency,
            "lease_seconds": timeout + settings.webhook_lease_margin_seconds,
            "poll_seconds": settings.webhook_poll_seconds,
            "order_max_wait_seconds": settings.webhook_order_max_wait_seconds,
            "breaker": BreakerPolicy(
                failures=settings.webhook_breaker_failures,
                cooldown_seconds=settings.webhook_breaker_cooldown_seconds,
                max_cooldown_seconds=settings.webhook_breaker_max_cooldown_seconds,
            ),
        }
        return cls(**(values | overrides))
