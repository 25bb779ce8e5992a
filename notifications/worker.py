"""Notifications' arq worker: fans events out to webhook deliveries and delivers them.

Jobs on the `notifications` queue:
- `handle_event` (one per event, pushed by the outbox publisher): one pending delivery per active
  endpoint whose scope covers the event, then a `deliver_webhook` job for each, after the commit;
- `deliver_webhook(delivery_id, attempt)`: one attempt; a failed one schedules the next;
- cron `sweep_deliveries` (every 10 s): re-enqueues due deliveries whose job was lost.
"""

import uuid

import httpx
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import DeliveryService, due_attempts
from notifications.jobs import enqueue_after_commit, enqueue_delivery
from notifications.service import FanOutService
from notifications.signing import USER_AGENT
from services.events.catalogue import Consumer
from services.events.envelope import EventEnvelope
from services.logging import get_logger
from services.queue import backoff
from services.runtime import Runtime
from services.settings import Settings, get_settings
from services.uow import after_commit, unit_of_work
from services.worker import (
    TRANSIENT,
    Ctx,
    build_worker_settings,
    event_task,
    periodic,
    runtime_of,
)
from services.worker import shutdown as runtime_shutdown
from services.worker import startup as runtime_startup

log = get_logger(__name__)
HTTP_CLIENT = "notifications.http"  # ctx key
SWEEP_INTERVAL_SECONDS = 10
SWEEP_BATCH = 500


def new_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        # Deliveries go straight to the vetted address; proxy variables would bypass that.
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )


async def startup(ctx: Ctx) -> None:
    """The kernel's runtime, plus one pooled HTTP client for the process. It must be made here:
    arq hands each job a copy of this ctx, so anything a job adds is lost (and never closed)."""
    await runtime_startup(ctx)
    ctx[HTTP_CLIENT] = new_http_client(runtime_of(ctx).settings)


async def shutdown(ctx: Ctx) -> None:
    client: httpx.AsyncClient | None = ctx.pop(HTTP_CLIENT, None)
    if client is not None:
        await client.aclose()
    await runtime_shutdown(ctx)


def _retry(ctx: Ctx, what: str, exc: BaseException) -> Retry:
    job_try: int = ctx.get("job_try", 1)
    log.warning("notifications: transient fault on %s (try %d): %r", what, job_try, exc)
    return Retry(defer=backoff(job_try))


async def record_deliveries(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    """Event handler, inside the job's transaction: their jobs are enqueued only once the
    delivery rows are committed (and never for a rollback)."""
    created = await FanOutService(session).on_event(event)
    if created:
        after_commit(
            session,
            lambda: enqueue_after_commit(
                runtime.redis, runtime.settings, [(delivery_id, 1, None) for delivery_id in created]
            ),
        )


handle_event = event_task(Consumer.notifications, record_deliveries)


async def deliver_webhook(ctx: Ctx, delivery_id: str, attempt: int | None = None) -> str:
    """Make attempt number `attempt` of a delivery (None: whichever is next)."""
    runtime = runtime_of(ctx)
    client: httpx.AsyncClient = ctx[HTTP_CLIENT]
    try:
        async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
            outcome = await DeliveryService(session, runtime.settings, client).attempt(
                uuid.UUID(delivery_id), attempt
            )
    except TRANSIENT as exc:
        raise _retry(ctx, f"delivery {delivery_id}", exc) from exc
    if outcome.wait_seconds is not None:
        # Keep this job (and its id) alive rather than finish it and block a re-enqueue.
        raise Retry(defer=max(outcome.wait_seconds, 0.1))
    if outcome.next_attempt_at is not None:
        await enqueue_after_commit(
            runtime.redis,
            runtime.settings,
            [(uuid.UUID(delivery_id), outcome.attempts + 1, outcome.next_attempt_at)],
        )
    return outcome.result


async def sweep_deliveries(ctx: Ctx) -> int:
    """Enqueue every due attempt; those whose job exists are no-ops (same job id)."""
    runtime = runtime_of(ctx)
    queued = 0
    try:
        async with runtime.sessionmaker() as session:
            due = await due_attempts(session, limit=SWEEP_BATCH)
        for delivery_id, attempt in due:
            queued += await enqueue_delivery(runtime.redis, runtime.settings, delivery_id, attempt)
    except TRANSIENT as exc:
        log.warning("delivery sweeper: %r", exc)
    if queued:
        log.info("delivery sweeper re-enqueued %d lost attempts", queued)
    return queued


def worker_settings() -> type:
    """Built on demand: it reads the settings (Redis URL) of the process that runs it."""
    return build_worker_settings(
        Consumer.notifications,
        [handle_event, deliver_webhook],
        cron_jobs=[periodic(sweep_deliveries, get_settings(), SWEEP_INTERVAL_SECONDS)],
        on_startup=startup,
        on_shutdown=shutdown,
    )
