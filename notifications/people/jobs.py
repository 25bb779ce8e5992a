"""The people part of the notifications worker (notifications/worker.py wires it in): plan the
messages of each event, run the sender, and the two crons.

- `plan_messages`, in the event job's transaction, after the webhook fan-out;
- the sender (notifications.people.sender): started and stopped with the worker process;
- crons: reply windows closing in 2 working days, the staff's opt-in daily digest, and the
  hourly deletion of finished messages past their retention. They are namespaced like
  services.worker.periodic, so deployments sharing a Redis each run theirs; every planned
  message has a dedup key, so a tick run twice tells nobody twice.
"""

from arq.cron import CronJob, cron
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.people.channels import build_channels
from notifications.people.domain import DIRECTORY_EVENTS
from notifications.people.repository import MessageRepository
from notifications.people.sender import PeopleSender, SenderConfig, wake_senders
from notifications.people.service import PeopleService
from services.clock import now
from services.events.catalogue import INTERNAL_EVENTS
from services.events.envelope import EventEnvelope
from services.logging import get_logger
from services.runtime import Runtime
from services.settings import Settings
from services.uow import after_commit, unit_of_work
from services.worker import TRANSIENT, Ctx, runtime_of

log = get_logger(__name__)
WIB_UTC_OFFSET_HOURS = 7


async def start_sender(runtime: Runtime) -> PeopleSender:
    sender = PeopleSender(
        runtime, build_channels(runtime.settings), SenderConfig.from_settings(runtime.settings)
    )
    await sender.start()
    return sender


async def plan_messages(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    """People's messages of the event, in a savepoint: a bug in planning them must not hold
    back the event's webhooks (it is logged; the event is still marked processed). Account
    events have nothing else to do, so theirs fail the job and are listed for admins."""
    people = PeopleService(session, build_channels(runtime.settings))
    if event.type in INTERNAL_EVENTS:
        await people.on_event(event)
        return
    if not people.any_channel_configured and event.type not in DIRECTORY_EVENTS:
        return  # no message could be sent, and the directory does not change: no savepoint
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


async def reply_windows_closing(ctx: Ctx) -> int:
    """Cron: tell reporters whose reply window closes within 2 working days."""
    runtime = runtime_of(ctx)
    moment = await now(runtime.settings, runtime.redis)
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
        people = PeopleService(session, build_channels(runtime.settings))
        planned = await people.reply_windows_closing(moment)
        if planned:
            after_commit(session, wake_senders)
    return planned


async def daily_digest(ctx: Ctx) -> int:
    """Cron: the opt-in daily digest of what is due, for agency staff."""
    runtime = runtime_of(ctx)
    moment = await now(runtime.settings, runtime.redis)
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
        people = PeopleService(session, build_channels(runtime.settings))
        planned = await people.daily_digest(moment)
        if planned:
            after_commit(session, wake_senders)
    return planned


async def forget_old_messages(ctx: Ctx) -> int:
    """Cron: delete sent and given-up messages older than `people_retention_days`."""
    runtime = runtime_of(ctx)
    async with unit_of_work(runtime.sessionmaker, runtime.publisher) as session:
        forgotten = await MessageRepository(session).forget_finished(
            runtime.settings.people_retention_days
        )
    if forgotten:
        log.info("people: %d old messages deleted", forgotten)
    return forgotten


def people_crons(settings: Settings) -> list[CronJob]:
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
        cron(
            forget_old_messages,
            name=f"{settings.queue_prefix}:forget_old_messages",
            minute={30},
            second={0},
            timeout=120,
        ),
    ]
