"""Notifications' arq worker: fans events out to webhook deliveries and to messages for people,
and runs the dispatcher and the people sender that deliver them.

- job `handle_event` (one per event, pushed by the outbox publisher): one pending delivery per
  active endpoint whose filters admit the event, in a single INSERT … SELECT; after the commit
  it wakes this process's dispatcher;
- the dispatcher (notifications.dispatcher): a task started in `startup` and stopped in
  `shutdown`, in every worker process. It claims due deliveries with a lease, sends them outside
  any transaction and records the outcomes; its claim also picks up whatever another process
  left behind (an expired lease), so no sweeper job is needed;
- people (notifications.people.jobs): the messages each event means for reporters, followers
  and agency staff, the sender that sends them (its own table and leases) and two crons.
"""

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from notifications.config import DispatchConfig
from notifications.dispatcher import Dispatcher, wake_dispatchers
from notifications.people.jobs import people_crons, plan_messages, start_sender
from notifications.people.sender import PeopleSender
from notifications.service import FanOutService
from services.db import create_engine, create_sessionmaker
from services.events.catalogue import INTERNAL_EVENTS, Consumer
from services.events.envelope import EventEnvelope
from services.runtime import Runtime
from services.settings import get_settings
from services.uow import after_commit
from services.worker import Ctx, build_worker_settings, event_task, runtime_of
from services.worker import shutdown as runtime_shutdown
from services.worker import startup as runtime_startup

DISPATCHER = "notifications.dispatcher"  # ctx key
DISPATCH_ENGINE = "notifications.dispatch_engine"  # ctx key
# The dispatcher's own connections: one for its claims, one for its records.
DISPATCH_POOL_SIZE = 2
SENDER = "notifications.people_sender"  # ctx key


async def startup(ctx: Ctx) -> None:
    """The kernel's runtime, plus the process's dispatcher and people sender. They must be made
    here: arq hands each job a copy of this ctx, so anything a job adds is lost (and never
    stopped)."""
    await runtime_startup(ctx)
    runtime = runtime_of(ctx)
    engine = create_engine(runtime.settings, pool_size=DISPATCH_POOL_SIZE)
    ctx[DISPATCH_ENGINE] = engine
    dispatcher = Dispatcher(
        runtime, DispatchConfig.from_settings(runtime.settings), create_sessionmaker(engine)
    )
    await dispatcher.start()
    ctx[DISPATCHER] = dispatcher
    ctx[SENDER] = await start_sender(runtime)


async def shutdown(ctx: Ctx) -> None:
    dispatcher: Dispatcher | None = ctx.pop(DISPATCHER, None)
    if dispatcher is not None:
        await dispatcher.stop()
    engine: AsyncEngine | None = ctx.pop(DISPATCH_ENGINE, None)
    if engine is not None:
        await engine.dispose()
    sender: PeopleSender | None = ctx.pop(SENDER, None)
    if sender is not None:
        await sender.stop()
    await runtime_shutdown(ctx)


async def record_deliveries(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    """Event handler, inside the job's transaction. The dispatcher (and the sender) are woken
    only once their rows are committed (and never for a rollback)."""
    if event.type not in INTERNAL_EVENTS:  # account events carry contacts: never webhooks
        fan_out = FanOutService(session, runtime.settings.webhook_order_max_wait_seconds)
        if await fan_out.on_event(event):
            after_commit(session, wake_dispatchers)
    await plan_messages(session, event, runtime)


handle_event = event_task(Consumer.notifications, record_deliveries)


def worker_settings() -> type:
    """Built on demand: it reads the settings (Redis URL) of the process that runs it."""
    return build_worker_settings(
        Consumer.notifications,
        [handle_event],
        people_crons(get_settings()),
        on_startup=startup,
        on_shutdown=shutdown,
    )
