"""The arq task edge: one transaction per job, inbox de-duplication, Retry on transient faults."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from arq import Retry
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from redis.exceptions import RedisError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.context import set_trace_id
from services.events.envelope import EventEnvelope
from services.events.failures import FailureRepository, FailureStatus
from services.events.reconciler import Reconciler
from services.logging import configure_logging, get_logger
from services.models import ProcessedEvent
from services.queue import backoff, queue_name, redis_settings
from services.runtime import Runtime
from services.settings import Settings, get_settings
from services.tracing import is_trace_id
from services.uow import unit_of_work

log = get_logger(__name__)
Ctx = dict[str, Any]
EventHandler = Callable[[AsyncSession, EventEnvelope, Runtime], Awaitable[None]]

# Faults worth another try: the database or Redis went away, a connection dropped, or a
# concurrent writer changed the same complaint (optimistic lock). Not other database errors:
# a constraint or SQL error is a bug, and retrying it only hides it.
TRANSIENT: tuple[type[BaseException], ...] = (
    StaleDataError,
    OperationalError,
    InterfaceError,
    RedisError,
    OSError,
    TimeoutError,
)


def runtime_of(ctx: Ctx) -> Runtime:
    runtime: Runtime = ctx["runtime"]
    return runtime


async def startup(ctx: Ctx) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    ctx["runtime"] = Runtime.create(settings)


async def shutdown(ctx: Ctx) -> None:
    await runtime_of(ctx).close()


async def mark_processed(
    session: AsyncSession, consumer: str, envelopes: Sequence[EventEnvelope]
) -> set[uuid.UUID]:
    """Record (consumer, event) in the inbox for each; returns the ids that were new."""
    result = await session.execute(
        pg_insert(ProcessedEvent)
        .values([{"consumer": consumer, "event_id": e.id} for e in envelopes])
        .on_conflict_do_nothing()
        .returning(ProcessedEvent.event_id)
    )
    return set(result.scalars())


async def record_failure(
    runtime: Runtime, consumer: str, event_id: Any, status: FailureStatus, exc: BaseException
) -> None:
    """Best effort, in a transaction of its own: the database may be what failed."""
    try:
        async with runtime.sessionmaker() as session:
            await FailureRepository(session).record(consumer, event_id, status, repr(exc))
            await session.commit()
    except Exception as record_exc:
        log.warning("%s: could not record the failure of %s: %r", consumer, event_id, record_exc)


Payload = dict[str, Any] | list[dict[str, Any]]


def trace_of(envelope: EventEnvelope) -> str:
    """The event's W3C trace id; an event without one (recorded outside any request) gets a
    trace of its own, derived from its id so every consumer and retry names the same one."""
    if is_trace_id(envelope.trace_id):
        assert envelope.trace_id is not None
        return envelope.trace_id
    return envelope.id.hex


BatchHook = Callable[[AsyncSession, Sequence[EventEnvelope], Runtime], Awaitable[None]]


def event_task(
    consumer: str, handler: EventHandler, *, prefetch: BatchHook | None = None
) -> Callable[[Ctx, Payload], Awaitable[str]]:
    """The `handle_event` job of a consumer. Its payload is one event or a batch of them (see
    `services.events.outbox.batch_jobs`): a batch is handled in one transaction, in order.
    `prefetch` may load, in one query, what the handler will read for each new event."""

    async def run(
        runtime: Runtime, envelopes: list[EventEnvelope], job_try: int
    ) -> tuple[int, int]:
        """(processed, duplicates); raises what the handler raised, transient faults as Retry."""
        try:
            async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
                fresh = await mark_processed(session, consumer, envelopes)
                if prefetch is not None and len(fresh) > 1:
                    await prefetch(session, [e for e in envelopes if e.id in fresh], runtime)
                for envelope in envelopes:
                    if envelope.id in fresh:
                        # The trace of the request that caused the event; the events this
                        # handler records carry it on.
                        set_trace_id(trace_of(envelope))
                        await handler(session, envelope, runtime)
        except TRANSIENT as exc:
            ids = ", ".join(str(e.id) for e in envelopes[:3])
            log.warning("%s: transient fault on %s (try %d): %r", consumer, ids, job_try, exc)
            if job_try >= runtime.settings.job_max_tries:
                # arq gives up after this try; the reconciler publishes the events again later.
                for envelope in envelopes:
                    await record_failure(
                        runtime, consumer, envelope.id, FailureStatus.retrying, exc
                    )
            raise Retry(defer=backoff(job_try)) from exc
        finally:
            set_trace_id(None)
        for envelope in envelopes:
            if envelope.id in fresh:
                log.info(
                    "%s processed %s",
                    consumer,
                    envelope.type,
                    extra={"event_id": str(envelope.id), "trace_id": trace_of(envelope)},
                )
        return len(fresh), len(envelopes) - len(fresh)

    async def handle_event(ctx: Ctx, payload: Payload) -> str:
        runtime = runtime_of(ctx)
        batch = payload if isinstance(payload, list) else [payload]
        envelopes = [EventEnvelope.model_validate(p) for p in batch]
        job_try: int = ctx.get("job_try", 1)
        try:
            processed, duplicates = await run(runtime, envelopes, job_try)
        except Retry:
            raise
        except Exception as exc:
            if len(envelopes) == 1:
                # A bug or bad data: retrying hides it. Admins see it and retry once it is fixed.
                log.exception(
                    "%s: event %s failed for good",
                    consumer,
                    envelopes[0].id,
                    extra={"trace_id": trace_of(envelopes[0])},
                )
                await record_failure(runtime, consumer, envelopes[0].id, FailureStatus.failed, exc)
                raise
            # One bad event must not hold the others: each alone, the bad one recorded.
            return await one_by_one(runtime, envelopes, job_try)
        if len(envelopes) == 1:
            return "processed" if processed else "duplicate"
        return f"processed {processed}, duplicates {duplicates}"

    async def one_by_one(runtime: Runtime, envelopes: list[EventEnvelope], job_try: int) -> str:
        processed = failed = 0
        for envelope in envelopes:
            try:
                processed += (await run(runtime, [envelope], job_try))[0]
            except Retry:
                raise
            except Exception as exc:
                failed += 1
                log.exception(
                    "%s: event %s failed for good",
                    consumer,
                    envelope.id,
                    extra={"trace_id": trace_of(envelope)},
                )
                await record_failure(runtime, consumer, envelope.id, FailureStatus.failed, exc)
        return f"processed {processed}, failed {failed}"

    handle_event.__qualname__ = handle_event.__name__ = "handle_event"
    return handle_event


async def relay_outbox(ctx: Ctx) -> int:
    try:
        return await runtime_of(ctx).publisher.relay()
    except TRANSIENT as exc:
        log.warning("relay: %r", exc)
        return 0


async def reconcile_events(ctx: Ctx) -> int:
    runtime = runtime_of(ctx)
    try:
        report = await Reconciler(runtime.settings, runtime.redis, runtime.sessionmaker).run()
    except TRANSIENT as exc:
        log.warning("reconciler: %r", exc)
        return 0
    return report.republished


def periodic(task: WorkerCoroutine, settings: Settings, every_seconds: int) -> CronJob:
    """An arq cron every `every_seconds`, run at startup too. arq derives the cron's job id from
    its name: namespaced, so deployments (and test runs) sharing one Redis do not skip each
    other's ticks."""
    return cron(
        task,
        name=f"{settings.queue_prefix}:{task.__qualname__}",
        second=set(range(0, 60, max(1, every_seconds))),
        run_at_startup=True,
        timeout=30,
    )


Hook = Callable[[Ctx], Awaitable[None]]


def build_worker_settings(
    consumer: str,
    functions: list[Callable[..., Awaitable[Any]]],
    cron_jobs: list[CronJob] | None = None,
    *,
    on_startup: Hook = startup,
    on_shutdown: Hook = shutdown,
) -> type:
    """An arq WorkerSettings class: this consumer's queue, the shared edge, and the relay cron."""
    settings = get_settings()
    attributes: dict[str, Any] = {
        "functions": functions,
        "cron_jobs": [
            periodic(relay_outbox, settings, settings.relay_interval_seconds),
            periodic(reconcile_events, settings, settings.reconcile_interval_seconds),
            *(cron_jobs or []),
        ],
        "queue_name": queue_name(settings, consumer),
        "redis_settings": redis_settings(settings),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        # Tight: it bounds how long a crashed job waits before another worker picks it up.
        "job_timeout": settings.job_timeout_seconds,
        "max_tries": settings.job_max_tries,
        "max_jobs": settings.worker_max_jobs,
        # arq sleeps this long between polls even when jobs are waiting: it bounds both the
        # latency of each hop and the jobs/s of a worker.
        "poll_delay": settings.worker_poll_delay_seconds,
        "health_check_interval": 10,
        # A kept result blocks re-enqueueing the same job id; the reconciler uses fresh ids,
        # and the consumers' inboxes make a repeat harmless, so results are kept only briefly.
        "keep_result": 60,
    }
    return type("WorkerSettings", (), attributes)
