"""The sender of messages to people: claims due messages with a lease, sends each through its
channel, records the outcome. One runs in every notifications worker process, beside the
webhook dispatcher and apart from it (its own table, leases and connections), so a slow SMTP
server never delays a webhook and a slow webhook receiver never delays an email.

Like the dispatcher it never holds a transaction across a send: claim (one short unit of work),
send (none), record each outcome (one short unit of work). A failed send comes back after a
capped exponential backoff with jitter, until `people_max_attempts`; a refusal for good (an SMTP
5xx for the address, an HTTP 4xx) is given up at once. A process that dies leaves leases that
expire; another sender claims the messages again: delivery is at least once (an email carries a
stable Message-ID, so a receiver can drop a repeat).
"""

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from notifications.people.channels import Channels, Outgoing, SendFailed
from notifications.people.domain import ChannelName, MessageStatus, retry_delay
from notifications.people.repository import Claimed, MessageRepository
from services.logging import get_logger
from services.runtime import Runtime
from services.settings import Settings
from services.uow import unit_of_work
from services.worker import TRANSIENT

log = get_logger(__name__)
LEASE_MARGIN_SECONDS = 30.0
FAULT_PAUSE_SECONDS = 2.0
# At shutdown, sends in flight get this long (process managers give about 10 s before SIGKILL);
# an unfinished one is claimed again once its lease expires.
SHUTDOWN_GRACE_SECONDS = 3.0

_running: "weakref.WeakSet[PeopleSender]" = weakref.WeakSet()


async def wake_senders() -> None:
    """After-commit hook of the planner: its messages are due now (a hint: the poll finds them
    anyway)."""
    for sender in list(_running):
        sender.wake()


@dataclass(frozen=True)
class SenderConfig:
    batch: int = 32
    poll_seconds: float = 1.0
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    retry_delay: Callable[[int], float] = lambda attempts: retry_delay(
        attempts, base=30.0, cap=3600.0
    )

    @property
    def lease_seconds(self) -> float:
        return self.timeout_seconds + LEASE_MARGIN_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> "SenderConfig":
        base, cap = settings.people_retry_base_seconds, settings.people_retry_cap_seconds
        values: dict[str, Any] = {
            "poll_seconds": settings.people_poll_seconds,
            "timeout_seconds": settings.people_send_timeout_seconds,
            "max_attempts": settings.people_max_attempts,
            "retry_delay": lambda attempts: retry_delay(attempts, base=base, cap=cap),
        }
        return cls(**(values | overrides))


class PeopleSender:
    def __init__(self, runtime: Runtime, channels: Channels, config: SenderConfig) -> None:
        self.runtime = runtime
        self.channels = channels
        self.config = config
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())
        _running.add(self)
        configured = [name.value for name, c in self.channels.items() if c.configured]
        log.info("people sender started; channels configured: %s", ", ".join(configured) or "none")

    async def stop(self) -> None:
        _running.discard(self)
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, SHUTDOWN_GRACE_SECONDS)
            except TimeoutError:
                log.warning("people sender stopped with sends in flight (their leases expire)")
        for channel in self.channels.values():
            await channel.close()
        log.info("people sender stopped")

    def wake(self) -> None:
        self._wakeup.set()

    async def _loop(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                claimed = await self.run_once()
            except TRANSIENT as exc:
                log.warning("people sender: claim failed, retrying: %r", exc)
                await self._pause(FAULT_PAUSE_SECONDS)
                continue
            except Exception:  # a bug must not stop every message for good: log, pause, go on
                log.exception("people sender: claim failed")
                await self._pause(FAULT_PAUSE_SECONDS)
                continue
            if claimed < self.config.batch:
                await self._pause(self.config.poll_seconds)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; how many were claimed."""
        async with unit_of_work(self.runtime.sessionmaker, self.runtime.publisher) as session:
            claimed = await MessageRepository(session).claim(
                batch=self.config.batch, lease_seconds=self.config.lease_seconds
            )
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(message) for message in claimed))
        try:
            # One short transaction for the whole batch's outcomes.
            async with unit_of_work(self.runtime.sessionmaker, self.runtime.publisher) as session:
                repository = MessageRepository(session)
                for outcome in outcomes:
                    await repository.record(
                        outcome.message_id,
                        outcome.attempts_before,
                        status=outcome.status,
                        error=outcome.error,
                        retry_in=outcome.retry_in,
                    )
        except TRANSIENT as exc:  # the leases expire and the messages are tried again
            log.warning("people sender: %d outcomes not recorded: %r", len(outcomes), exc)
            return len(claimed)
        for outcome in outcomes:
            outcome.log()
        return len(claimed)

    async def _attempt(self, message: Claimed) -> "Outcome":
        channel = self.channels[ChannelName(message.channel)]
        error: str | None = None
        permanent = False
        if not channel.configured:
            error, permanent = f"{channel.name} is no longer configured", True
        else:
            outgoing = Outgoing(
                id=message.id,
                channel=channel.name,
                recipient=message.recipient,
                subject=message.subject,
                text=message.body_text,
                html=message.body_html,
                data={k: str(v) for k, v in message.data.items()},
            )
            try:
                async with asyncio.timeout(self.config.timeout_seconds):
                    await channel.send(outgoing)
            except SendFailed as exc:
                error, permanent = str(exc), exc.permanent
            except TimeoutError:
                error = f"{channel.name} timed out"
            except Exception as exc:  # our bug, not the receiver's: retried like a failure
                log.exception("people message %s: send failed on our side", message.id)
                error = f"internal error: {type(exc).__name__}"
        attempts = message.attempts + 1
        if error is None:
            return Outcome(message.id, channel.name, message.attempts, MessageStatus.sent)
        if permanent or attempts >= self.config.max_attempts:
            return Outcome(message.id, channel.name, message.attempts, MessageStatus.dead, error)
        return Outcome(
            message.id,
            channel.name,
            message.attempts,
            MessageStatus.pending,
            error,
            self.config.retry_delay(attempts),
        )


@dataclass(frozen=True)
class Outcome:
    message_id: uuid.UUID
    channel: ChannelName
    attempts_before: int
    status: MessageStatus
    error: str | None = None
    retry_in: float | None = None

    def log(self) -> None:
        """Ids, channels and reasons only: never an address or a message's words."""
        attempt = self.attempts_before + 1
        if self.status is MessageStatus.sent:
            log.info("people message %s sent by %s", self.message_id, self.channel)
        elif self.status is MessageStatus.dead:
            log.warning(
                "people message %s given up after %d attempts: %s",
                self.message_id,
                attempt,
                self.error,
            )
        else:
            log.info(
                "people message %s attempt %d failed (%s); next in %.0f s",
                self.message_id,
                attempt,
                self.error,
                self.retry_in or 0.0,
            )
