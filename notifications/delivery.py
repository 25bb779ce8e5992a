"""One delivery attempt: lock the row, sign, POST, record the outcome. Never commits.

A receiver's failure (an error status, a refused connection, a timeout) is the receiver's fault,
not ours: it is recorded on the delivery and scheduled for retry, and the transaction commits.
Only our own faults (database, Redis) propagate, for the job wrapper to retry the job.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.domain import DeliveryStatus, retry_delay
from notifications.repository import DeliveryRepository
from notifications.signing import signed_headers, webhook_body
from notifications.targets import Target, TargetRefused, TargetUnresolvable, pin, vet
from services.logging import get_logger
from services.models import WebhookDelivery
from services.settings import Settings

log = get_logger(__name__)
SNIPPET_BYTES = 256  # of the receiver's error answer, kept in last_error for diagnosis


@dataclass(frozen=True)
class Outcome:
    """What one run of a delivery job did."""

    result: str  # for logs and the job result
    attempts: int = 0  # attempts made so far, after this run
    next_attempt_at: datetime | None = None  # set when another attempt must be enqueued
    wait_seconds: float | None = None  # the delivery is not ready for this job yet: try later


async def due_attempts(session: AsyncSession, *, limit: int) -> list[tuple[uuid.UUID, int]]:
    """(delivery id, attempt number) of the attempts that are due now, oldest first."""
    due = await DeliveryRepository(session).due(datetime.now(UTC), limit=limit)
    return [(delivery_id, attempts + 1) for delivery_id, attempts in due]


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryService:
    def __init__(
        self, session: AsyncSession, settings: Settings, client: httpx.AsyncClient
    ) -> None:
        self.settings = settings
        self.client = client
        self.deliveries = DeliveryRepository(session)

    async def attempt(self, delivery_id: uuid.UUID, expected_attempt: int | None = None) -> Outcome:
        """Make the next attempt of a delivery, if it is pending, due, and this job's to make."""
        delivery = await self.deliveries.lock(delivery_id)
        if delivery is None:
            if await self.deliveries.exists(delivery_id):
                return Outcome("busy", wait_seconds=5.0)  # another job holds it right now
            return Outcome("missing")
        if delivery.status != DeliveryStatus.pending:
            return Outcome(f"already {delivery.status}", delivery.attempts)
        if expected_attempt is not None and expected_attempt != delivery.attempts + 1:
            return Outcome("stale job", delivery.attempts)  # a later job owns the next attempt
        now = datetime.now(UTC)
        if delivery.next_attempt_at > now:
            return Outcome("not due", wait_seconds=(delivery.next_attempt_at - now).total_seconds())

        endpoint = await self.deliveries.endpoint(delivery.endpoint_id)
        event = await self.deliveries.event(delivery.event_id)
        if endpoint is None or event is None or not endpoint.active:
            delivery.status = DeliveryStatus.cancelled.value
            return Outcome("cancelled", delivery.attempts)

        body = webhook_body(event.type, event.occurred_at, event.data)
        headers = signed_headers(endpoint.secret, str(event.id), now, body)
        answer = await post_webhook(self.client, self.settings, endpoint.url, headers, body)
        return self._record(delivery, answer, now)

    def _record(self, delivery: WebhookDelivery, answer: Answer, now: datetime) -> Outcome:
        delivery.attempts += 1
        delivery.last_status_code = answer.status_code
        delivery.last_error = answer.error
        if answer.ok:
            delivery.status = DeliveryStatus.succeeded.value
            delivery.delivered_at = now
            log.info("delivery %s succeeded on attempt %d", delivery.id, delivery.attempts)
            return Outcome("succeeded", delivery.attempts)
        if delivery.attempts >= self.settings.webhook_max_attempts:
            delivery.status = DeliveryStatus.dead.value
            log.warning(
                "delivery %s dead after %d attempts: %s",
                delivery.id,
                delivery.attempts,
                answer.error,
            )
            return Outcome("dead", delivery.attempts)
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempts))
        log.info(
            "delivery %s attempt %d failed (%s); next at %s",
            delivery.id,
            delivery.attempts,
            answer.error,
            delivery.next_attempt_at.isoformat(),
        )
        return Outcome("retrying", delivery.attempts, next_attempt_at=delivery.next_attempt_at)


async def target_of(settings: Settings, url: str) -> Target:
    if settings.webhook_allow_private_targets:
        return Target(url)
    # Checked again at every attempt: the DNS answer may have changed since registration.
    addresses = await vet(url)
    return pin(url, addresses[0])


async def post_webhook(
    client: httpx.AsyncClient, settings: Settings, url: str, headers: dict[str, str], body: str
) -> Answer:
    """POST one signed body; every way the receiver can fail becomes an Answer, not a raise."""
    timeout = settings.webhook_timeout_seconds
    try:
        target = await target_of(settings, url)
        if target.host_header:
            headers = headers | {"host": target.host_header}
        request = client.build_request(
            "POST",
            target.url,
            content=body.encode(),
            headers=headers,
            extensions={"sni_hostname": target.sni_hostname} if target.sni_hostname else None,
        )
        # httpx's timeout is per phase; this bounds the whole exchange.
        async with asyncio.timeout(timeout):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                snippet = await _read_snippet(response)
            finally:
                await response.aclose()
    except TargetRefused as exc:
        return Answer(None, f"target refused: {exc}")
    except TargetUnresolvable as exc:
        return Answer(None, str(exc))
    except TimeoutError:
        return Answer(None, f"no answer within {timeout:g} s")
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return Answer(None, f"{exc.__class__.__name__}: {exc}"[:1000])
    if 200 <= response.status_code < 300:
        return Answer(response.status_code, None)
    error = f"HTTP {response.status_code}"
    if response.is_redirect:
        error += " (redirects are not followed)"
    if snippet:
        error += f": {snippet}"
    return Answer(response.status_code, error)


async def _read_snippet(response: httpx.Response) -> str:
    """The start of the answer, without reading a large body to the end."""
    chunks = bytearray()
    async for chunk in response.aiter_bytes():
        chunks += chunk
        if len(chunks) >= SNIPPET_BYTES:
            break
    return chunks[:SNIPPET_BYTES].decode("utf-8", errors="replace").strip()
