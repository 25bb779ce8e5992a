"""Rate limits at the gateway: `limits`' moving window over Redis, so every gateway process
counts in the same windows.

Each request is counted in its route groups (ADUAN_RATE_LIMITS; README "Rate limits"):

- `ip`: every proxied request, per client address (`gateway.security.client_ip`);
- `principal`: every proxied request of an authenticated caller, per `Principal.key`;
- `anonymous_create`: anonymous complaint creates (`POST /api/v1/complaints`, Open311 POSTs),
  per client address;
- `login`: login attempts, per client address, through the `RateLimited("login")` dependency
  on the login route.

An answer in a limited group carries `RateLimit-Policy` and `RateLimit`
(draft-ietf-httpapi-ratelimit-headers, structured fields: `"ip";q=2400;w=60` and
`"ip";r=2399;t=60`); a request over any limit is refused with 429 `rate_limited`, those headers
and `Retry-After`. When Redis fails, requests pass uncounted (with a warning) rather than fail.
"""

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.security import client_ip
from services.logging import get_logger
from services.principal import Principal, PrincipalKind
from services.problems import ProblemError
from services.settings import DEFAULT_RATE_LIMITS, Settings

GROUPS = tuple(DEFAULT_RATE_LIMITS)
REDIS_TIMEOUT_SECONDS = 0.5  # a stalled Redis costs a request at most this, then is skipped
PAUSE_AFTER_FAILURE_SECONDS = 5.0  # no counting (and no waiting on Redis) for this long
STATE_KEY = "rate_limits"  # request.state: the outcomes of this request's checks
log = get_logger(__name__)


@dataclass(frozen=True)
class Policy:
    group: str
    item: RateLimitItem

    @property
    def quota(self) -> int:
        return int(self.item.amount)

    @property
    def window(self) -> int:
        return int(self.item.get_expiry())


@dataclass(frozen=True)
class Outcome:
    policy: Policy
    allowed: bool
    remaining: int
    reset_seconds: int  # until the oldest request in the window leaves it (one more is allowed)


def storage_uri(redis_url: str) -> str:
    """`limits`' name for the Redis of ADUAN_REDIS_URL (its async storages want `async+`)."""
    scheme, sep, rest = redis_url.partition("://")
    scheme = {"unix": "redis+unix"}.get(scheme, scheme)
    return f"async+{scheme}{sep}{rest}"


def policy_header(outcomes: Sequence[Outcome]) -> str:
    return ", ".join(f'"{o.policy.group}";q={o.policy.quota};w={o.policy.window}' for o in outcomes)


def state_header(outcomes: Sequence[Outcome]) -> str:
    return ", ".join(f'"{o.policy.group}";r={o.remaining};t={o.reset_seconds}' for o in outcomes)


def rate_limit_headers(outcomes: Sequence[Outcome]) -> dict[str, str]:
    """One item per policy; a policy counted in two windows (a login by address and by
    account) shows the one closer to its limit."""
    if not outcomes:
        return {}
    tightest: dict[str, Outcome] = {}
    for outcome in outcomes:
        seen = tightest.get(outcome.policy.group)
        if seen is None or (outcome.remaining, -outcome.reset_seconds) < (
            seen.remaining,
            -seen.reset_seconds,
        ):
            tightest[outcome.policy.group] = outcome
    shown = list(tightest.values())
    return {"RateLimit-Policy": policy_header(shown), "RateLimit": state_header(shown)}


class RateLimiter:
    """One per gateway process (`app.state.rate_limiter`); the windows live in Redis."""

    def __init__(self, settings: Settings) -> None:
        self.policies = {
            group: Policy(group, parse(limit)) for group, limit in settings.rate_limits.items()
        }
        self.enabled = settings.rate_limits_enabled and bool(settings.redis_url)
        self._paused_until = 0.0
        self._pool: ConnectionPool | None = None
        self._strategy: MovingWindowRateLimiter | None = None
        if self.enabled:
            assert settings.redis_url is not None
            # Connects on first use, so the gateway starts while Redis is down.
            self._pool = ConnectionPool.from_url(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            storage = RedisStorage(
                storage_uri(settings.redis_url),
                implementation="redispy",
                key_prefix=f"{settings.queue_prefix}:ratelimit",
                connection_pool=self._pool,  # type: ignore[arg-type]  # passed to redis-py
            )
            self._strategy = MovingWindowRateLimiter(storage)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def check(self, request: Request, checks: Sequence[tuple[str, str]]) -> None:
        """Count this request once in each (group, identifier) window; raise 429 when any of
        them is full. The outcomes are kept on the request for the RateLimit headers."""
        if self._strategy is None or not checks or time.monotonic() < self._paused_until:
            return
        try:
            outcomes = await self._hit(self._strategy, checks)
        except Exception as exc:  # never fail a request because of the limiter
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            log.warning(
                "rate limits not applied for %.0f s: Redis failed (%s: %s)",
                PAUSE_AFTER_FAILURE_SECONDS,
                exc.__class__.__name__,
                exc,
            )
            return
        kept: list[Outcome] = getattr(request.state, STATE_KEY, [])
        outcomes = kept + outcomes
        setattr(request.state, STATE_KEY, outcomes)
        refused = [o for o in outcomes if not o.allowed]
        if refused:
            first = refused[0].policy
            retry_after = max(o.reset_seconds for o in refused)
            raise ProblemError(
                "rate_limited",
                f"more than {first.quota} requests in {first.window} s ({first.group}); "
                f"retry in {retry_after} s",
                headers={**rate_limit_headers(outcomes), "Retry-After": str(retry_after)},
            )

    async def _hit(
        self, strategy: MovingWindowRateLimiter, checks: Sequence[tuple[str, str]]
    ) -> list[Outcome]:
        policies = [(self.policies[group], identifier) for group, identifier in checks]
        # Every window at once (the pool has a connection each): two round trips in all.
        allowed = await asyncio.gather(
            *(strategy.hit(p.item, p.group, identifier) for p, identifier in policies)
        )
        stats = await asyncio.gather(
            *(strategy.get_window_stats(p.item, p.group, identifier) for p, identifier in policies)
        )
        now = time.time()
        return [
            Outcome(
                policy=policy,
                allowed=ok,
                remaining=max(0, stat.remaining),
                reset_seconds=max(1 if not ok else 0, math.ceil(stat.reset_time - now)),
            )
            for (policy, _), ok, stat in zip(policies, allowed, stats, strict=True)
        ]


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def is_anonymous_create(method: str, path: str) -> bool:
    if method != "POST":
        return False
    return path.rstrip("/") == "/api/v1/complaints" or path.startswith("/open311/")


def proxied_checks(request: Request, principal: Principal) -> list[tuple[str, str]]:
    """The windows a proxied request counts in: its group's first, then `ip`."""
    ip = client_ip(request)
    checks: list[tuple[str, str]] = []
    if principal.kind is PrincipalKind.anonymous:
        if is_anonymous_create(request.method, request.url.path):
            checks.append(("anonymous_create", ip))
    else:
        checks.append(("principal", principal.key))
    checks.append(("ip", ip))
    return checks


async def limit_proxied(request: Request, principal: Principal) -> None:
    """Called by the proxy right after authentication: 429 when the caller is over a limit."""
    await get_limiter(request).check(request, proxied_checks(request, principal))


class RateLimited:
    """A dependency that counts a request of a gateway route in one group, by client address
    unless `key` says otherwise: `dependencies=[Depends(RateLimited("login"))]`.

    A route that learns more after parsing its body (the account name of a login) can count
    that too: `await get_limiter(request).check(request, [("login", f"account:{email}")])`.
    """

    # What a route with this dependency can answer besides its own (services/openapi.py).
    problem_statuses = frozenset({429})

    def __init__(self, group: str, key: Callable[[Request], str] | None = None) -> None:
        if group not in GROUPS:
            raise ValueError(f"unknown rate limit group {group!r}: {list(GROUPS)}")
        self.group = group
        self.key = key or client_ip

    async def __call__(self, request: Request) -> None:
        await get_limiter(request).check(request, [(self.group, self.key(request))])


class RateLimitHeadersMiddleware:
    """Adds RateLimit-Policy / RateLimit to the answer of a request that was counted (the 429
    carries them already)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcomes: list[Outcome] = scope.get("state", {}).get(STATE_KEY, [])
                headers = MutableHeaders(scope=message)
                if outcomes and "ratelimit" not in headers:
                    for name, value in rate_limit_headers(outcomes).items():
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
