"""The webhook dispatcher: claims due deliveries with a lease, sends them, records the outcomes.

One runs in every notifications worker process, started with the worker and stopped with it.
It is an edge, like the arq task wrapper: it commits its own short transactions, and never holds
one (nor a row lock) across a DNS lookup or an HTTP request:

1. claim, one transaction: lease a batch of due deliveries (`lease_until`), at most as many as
   this process has room for, at most `endpoint_concurrency` in flight per endpoint across all
   processes, none of an endpoint whose circuit is open, none while an earlier event of the same
   complaint is still pending for the same endpoint (see DispatchRepository's CLAIM);
2. send, no transaction: sign and POST each claimed delivery, concurrently, each in its own task;
3. record, one transaction per batch of finished attempts: status, attempts, next attempt with
   backoff or dead letter, and the endpoints' circuit breakers; then claim again at once, since
   a success may have let the next event of a complaint go, or freed an endpoint's slot.

Nothing is lost to a crash: a dead process's leases expire (a lease outlives the HTTP timeout)
and another dispatcher claims those deliveries again; delivery is at least once. The claim
query is also the sweeper: whatever is due is found there, however it got there. The fan-out in
the same process wakes the dispatcher after its commit; otherwise it polls every `poll_seconds`
(an idle poll is one index probe).
"""

import asyncio
import contextlib
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType

import aiohttp

from notifications.config import DispatchConfig
from notifications.domain import (
    Attempt,
    Claim,
    DeliveryStatus,
    Outcome,
    cancelled,
    outcome_of,
    retry_after_seconds,
)
from notifications.payloads import audience_of, build_body
from notifications.sender import new_http_session, post_webhook
from notifications.service import DispatchService
from notifications.signing import signed_headers
from notifications.vault import SecretUnreadable, unseal
from services.db import SessionMaker
from services.events.outbox import take_pending
from services.logging import get_logger
from services.runtime import Runtime
from services.worker import TRANSIENT

log = get_logger(__name__)
FAULT_PAUSE_SECONDS = 0.5  # after a database fault, doubling up to the cap
FAULT_PAUSE_CAP_SECONDS = 10.0

# The dispatchers running in this process, for the fan-out's after-commit wake-up.
_running: "weakref.WeakSet[Dispatcher]" = weakref.WeakSet()


async def wake_dispatchers() -> None:
    """After-commit hook of the fan-out: its deliveries are due now. Only a hint: without it
    the next poll finds them."""
    for dispatcher in list(_running):
        dispatcher.wake()


class Dispatcher:
    def __init__(
        self, runtime: Runtime, config: DispatchConfig, sessionmaker: SessionMaker | None = None
    ) -> None:
        """`sessionmaker`: the worker gives the dispatcher a pool of its own, so that its claims
        and records never queue for a connection behind the process's event jobs (32 at once,
        which can hold every pooled connection while they wait on each other's fan-outs)."""
        self.runtime = runtime
        self.config = config
        self._sessions = sessionmaker or runtime.sessionmaker
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._waiting = False
        self._sending: set[asyncio.Task[None]] = set()
        self._outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self._http: aiohttp.ClientSession | None = None
        self._claimer: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._http = new_http_session(
            allow_private_targets=self.config.allow_private_targets,
            max_connections=self.config.max_in_flight,
            lookup=self.config.lookup,
        )
        self._recorder = asyncio.create_task(self._record_loop(), name="webhook-recorder")
        self._claimer = asyncio.create_task(self._claim_loop(), name="webhook-dispatcher")
        _running.add(self)
        log.info(
            "webhook dispatcher started: %d in flight per process, %d per endpoint",
            self.config.max_in_flight,
            self.config.endpoint_concurrency,
        )

    async def stop(self) -> None:
        """Stop claiming; give the attempts in flight a short grace, cancel the rest (their
        leases expire and another dispatcher retries them); record what finished."""
        _running.discard(self)
        self._stopping = True
        self.wake()
        if self._claimer is not None:
            await self._claimer
        if self._sending:
            await asyncio.wait(self._sending, timeout=self.config.shutdown_grace_seconds)
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        if self._recorder is not None:
            self._outcomes.put_nowait(None)
            try:
                await asyncio.wait_for(self._recorder, self.config.shutdown_grace_seconds)
            except TimeoutError:
                log.warning("webhook dispatcher stopped before recording every outcome")
        if self._http is not None:
            await self._http.close()
        log.info("webhook dispatcher stopped")

    async def __aenter__(self) -> "Dispatcher":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def wake(self) -> None:
        self._wakeup.set()

    @property
    def waiting(self) -> bool:
        """True while it waits for the next poll or a wake-up (for health checks and tests)."""
        return self._waiting

    async def _claim_loop(self) -> None:
        pause = FAULT_PAUSE_SECONDS
        while not self._stopping:
            self._wakeup.clear()
            room = self.config.max_in_flight - len(self._sending)
            claims: list[Claim] = []
            if room > 0:
                try:
                    async with self._sessions() as session, session.begin():
                        claims = await DispatchService(session, self.config).claim(room)
                except TRANSIENT as exc:
                    log.warning("webhook dispatcher: claim failed, retrying: %r", exc)
                    await self._pause(pause)
                    pause = min(pause * 2, FAULT_PAUSE_CAP_SECONDS)
                    continue
                except Exception:  # a bug must not stop deliveries for good: log, pause, go on
                    log.exception("webhook dispatcher: claim failed")
                    await self._pause(FAULT_PAUSE_CAP_SECONDS)
                    continue
                pause = FAULT_PAUSE_SECONDS
            for claim in claims:
                task = asyncio.create_task(self._send(claim))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            if claims and len(claims) == room:
                continue  # a full batch: more may be due, and this process has room again
            await self._pause(self.config.poll_seconds)

    async def _pause(self, seconds: float) -> None:
        self._waiting = True
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._wakeup.wait()
        finally:
            self._waiting = False

    async def _send(self, claim: Claim) -> None:
        try:
            outcome = await self._attempt(claim)
        except Exception:  # our fault, not the receiver's: the lease expires, it is retried
            log.exception("webhook delivery %s: attempt failed on our side", claim.delivery_id)
            return
        self._outcomes.put_nowait(outcome)

    async def _attempt(self, claim: Claim) -> Outcome:
        if not claim.endpoint_active:
            return cancelled(claim)  # deactivated while this delivery was on its way here
        assert self._http is not None
        keys = self.config.secret_keys
        body = build_body(
            claim.event_type,
            claim.occurred_at,
            claim.data,
            sequence=claim.sequence,
            audience=audience_of(claim.owner_kind, claim.agency_ids, claim.data),
        )
        started = datetime.now(UTC)
        clock = asyncio.get_running_loop().time()
        try:
            headers = signed_headers(
                unseal(keys, claim.secret),
                str(claim.event_id),
                started,
                body,
                previous_secret=unseal(keys, claim.previous_secret)
                if claim.previous_secret
                else None,
            )
        except SecretUnreadable as exc:
            # A configuration fault, not a stuck delivery: it fails (and dead-letters) visibly.
            attempt = Attempt(
                None, f"not sent: the endpoint's secret is unreadable ({exc})", started
            )
            return outcome_of(
                claim,
                attempt,
                max_attempts=self.config.max_attempts,
                delay=self.config.retry_delay,
            )
        answer = await post_webhook(
            self._http,
            claim.url,
            headers,
            body.encode(),
            timeout_seconds=self.config.timeout_seconds,
            allow_private_targets=self.config.allow_private_targets,
            trace_id=claim.trace_id,
        )
        latency_ms = round((asyncio.get_running_loop().time() - clock) * 1000)
        attempt = Attempt(
            answer.status_code,
            answer.error,
            started,
            latency_ms=latency_ms,
            response=answer.response,
            retry_after=retry_after_seconds(answer.retry_after, datetime.now(UTC)),
        )
        return outcome_of(
            claim,
            attempt,
            max_attempts=self.config.max_attempts,
            delay=self.config.retry_delay,
            retry_after_max=self.config.retry_after_max_seconds,
        )

    async def _record_loop(self) -> None:
        """Writes finished attempts in batches: whatever finished while the last batch was being
        written goes into the next one. Ends at the None that stop() queues."""
        while True:
            batch: list[Outcome] = []
            item = await self._outcomes.get()
            while item is not None:
                batch.append(item)
                if self._outcomes.empty():
                    break
                item = self._outcomes.get_nowait()
            if batch:
                await self._record(batch)
                self.wake()
            if item is None:
                return

    async def _record(self, batch: Sequence[Outcome]) -> None:
        loop = asyncio.get_running_loop()
        # Past the lease, another dispatcher may already be attempting these deliveries again.
        give_up_at = loop.time() + self.config.lease_seconds
        pause = FAULT_PAUSE_SECONDS
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    recorded = await DispatchService(session, self.config).record(batch)
                    events = take_pending(session)
            except TRANSIENT as exc:
                if loop.time() + pause >= give_up_at:
                    log.error(
                        "webhook dispatcher: %d outcomes not recorded (%r); their deliveries "
                        "are attempted again once their leases expire",
                        len(batch),
                        exc,
                    )
                    return
                log.warning("webhook dispatcher: recording failed, retrying: %r", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, FAULT_PAUSE_CAP_SECONDS)
                continue
            except Exception:
                log.exception("webhook dispatcher: recording %d outcomes failed", len(batch))
                return
            _log_outcomes(recorded)
            if events:  # exhausted deliveries, disabled endpoints; else the relay sends them
                try:
                    await self.runtime.publisher.publish(events)
                except Exception:
                    log.warning("webhook dispatcher: events left to the relay", exc_info=True)
            return


def _log_outcomes(outcomes: Sequence[Outcome]) -> None:
    for outcome in outcomes:
        attempt = outcome.attempts_before + 1
        if outcome.status == DeliveryStatus.dead:
            log.warning(
                "webhook delivery %s dead after %d attempts: %s",
                outcome.delivery_id,
                attempt,
                outcome.error,
            )
        elif outcome.status == DeliveryStatus.pending:
            log.info(
                "webhook delivery %s attempt %d failed (%s); next in %.0f s",
                outcome.delivery_id,
                attempt,
                outcome.error,
                outcome.retry_in or 0.0,
            )
        elif outcome.status == DeliveryStatus.cancelled:
            log.info("webhook delivery %s cancelled: endpoint deactivated", outcome.delivery_id)
