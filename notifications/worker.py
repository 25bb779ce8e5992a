"""Notifications' arq worker: fans events out to webhook deliveries and to messages for people,
and runs the webhook dispatcher and the people sender that deliver them.

- job `handle_event` (one per event, pushed by the outbox publisher): one pending delivery per
  active endpoint whose filters admit the event, in a single INSERT … SELECT; the messages the
  event means for reporters, followers and agency staff (notifications.people); after the
  commit it wakes this process's dispatcher and sender;
- the dispatcher (notifications.dispatcher): a task started in `startup` and stopped in
  `shutdown`, in every worker process. It claims due deliveries with a lease, sends them outside
  any transaction and records the outcomes; its claim also picks up whatever another process
  left behind (an expired lease), so no sweeper job is needed;
- the people sender (notifications.people.sender): the same shape, on its own table;
- crons: reply windows closing in 2 working days, and the staff's opt-in daily digest.
"""

from arq.cron import CronJob, cron
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.config import DispatchConfig
from notifications.dispatcher import Dispatcher, wake_dispatchers
from notifications.people.channels import build_channels
from notifications.people.sender import PeopleSender, SenderConfig, wake_senders
from notifications.people.service import PeopleService
from notifications.service import FanOutService
from services.clock import now
from services.events.catalogue import INTERNAL_EVENTS, Consumer
from services.events.envelope import EventEnvelope
from services.logging import get_logger
from services.runtime import Runtime
from services.settings import Settings, get_settings
from services.uow import after_commit, unit_of_work
from services.worker import TRANSIENT, Ctx, build_worker_settings, event_task, runtime_of
from services.worker import shutdown as runtime_shutdown
from services.worker import startup as runtime_startup

log = get_logger(__name__)
DISPATCHER = "notifications.dispatcher"  # ctx key
SENDER = "notifications.people_sender"  # ctx key
WIB_UTC_OFFSET_HOURS = 7


async def startup(ctx: Ctx) -> None:
    """The kernel's runtime, plus the process's dispatcher and sender. They must be made here:
    arq hands each job a copy of this ctx, so anything a job adds is lost (and never stopped)."""
    await runtime_startup(ctx)
    runtime = runtime_of(ctx)
    dispatcher = Dispatcher(runtime, DispatchConfig.from_settings(runtime.settings))
    await dispatcher.start()
    ctx[DISPATCHER] = dispatcher
    sender = PeopleSender(
        runtime, build_channels(runtime.settings), SenderConfig.from_settings(runtime.settings)
    )
    await sender.start()
    ctx[SENDER] = sender


async def shutdown(ctx: Ctx) -> None:
    dispatcher: Dispatcher | None = ctx.pop(DISPATCHER, None)
    if dispatcher is not None:
        await dispatcher.stop()
    sender: PeopleSender | None = ctx.pop(SENDER, None)
    if sender is not None:
        await sender.stop()
    await runtime_shutdown(ctx)


async def record_deliveries(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    """Event handler, inside the job's transaction. The dispatcher and the sender are woken
    only once their rows are committed (and never for a rollback)."""
    if event.type not in INTERNAL_EVENTS:  # account events carry contacts: never webhooks
        fan_out = FanOutService(session, runtime.settings.webhook_order_max_wait_seconds)
        if await fan_out.on_event(event):
            after_commit(session, wake_dispatchers)
    await plan_messages(session, event, runtime)


async def plan_messages(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    """People's messages of the event, in a savepoint: a bug in planning them must not hold
    back the event's webhooks (it is logged; the event is still marked processed). Account
    events have nothing else to do, so theirs fail the job and are listed for admins."""
    people = PeopleService(session, build_channels(runtime.settings))
    if event.type in INTERNAL_EVENTS:
        await people.on_event(event)
        return
    try:
        async with session.begin_nested():
            planned = await people.on_event(event)
    except TRANSIENT:
        raise
    except Exception:
        log.exception("people: the messages of event %s could not be planned", event.id)
        return
    if planned:
        after_commit(session, wake_senders)


handle_event = event_task(Consumer.notifications, record_deliveries)


async def reply_windows_closing(ctx: Ctx) -> int:
    """Cron: tell reporters whose reply window closes within 2 working days."""
    runtime = runtime_of(ctx)
    moment = await now(runtime.settings, runtime.redis)
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
        planned = await PeopleService(
            session, build_channels(runtime.settings)
        ).reply_windows_closing(moment)
        if planned:
            after_commit(session, wake_senders)
    return planned


async def daily_digest(ctx: Ctx) -> int:
    """Cron: the opt-in daily digest of what is due, for agency staff."""
    runtime = runtime_of(ctx)
    moment = await now(runtime.settings, runtime.redis)
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
        planned = await PeopleService(session, build_channels(runtime.settings)).daily_digest(
            moment
        )
        if planned:
            after_commit(session, wake_senders)
    return planned


def people_crons(settings: Settings) -> list[CronJob]:
    """Namespaced like services.worker.periodic, so deployments sharing a Redis each run theirs;
    each planned message has a dedup key, so a tick run twice tells nobody twice."""
    every = settings.people_reply_window_check_minutes
    return [
        cron(
            reply_windows_closing,
            name=f"{settings.queue_prefix}:reply_windows_closing",
            minute=set(range(0, 60, every)),
            second={0},
            run_at_startup=True,
            timeout=60,
        ),
        cron(
            daily_digest,
            name=f"{settings.queue_prefix}:daily_digest",
            hour={(settings.people_digest_hour - WIB_UTC_OFFSET_HOURS) % 24},
            minute={0},
            second={0},
            timeout=120,
        ),
    ]


def worker_settings() -> type:
    """Built on demand: it reads the settings (Redis URL) of the process that runs it."""
    return build_worker_settings(
        Consumer.notifications,
        [handle_event],
        people_crons(get_settings()),
        on_startup=startup,
        on_shutdown=shutdown,
    )
