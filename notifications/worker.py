"""Notifications' arq worker: fans events out to webhook deliveries, and runs the dispatcher that
delivers them.

- job `handle_event` (one per event, pushed by the outbox publisher): one pending delivery per
  active endpoint whose filters admit the event, in a single INSERT … SELECT; after the commit
  it wakes this process's dispatcher;
- the dispatcher (notifications.dispatcher): a task started in `startup` and stopped in
  `shutdown`, in every worker process. It claims due deliveries with a lease, sends them outside
  any transaction and records the outcomes; its claim also picks up whatever another process
  left behind (an expired lease), so no sweeper job is needed.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.config import DispatchConfig
from notifications.dispatcher import Dispatcher, wake_dispatchers
from notifications.service import FanOutService
from services.events.catalogue import Consumer
from services.events.envelope import EventEnvelope
from services.runtime import Runtime
from services.uow import after_commit
from services.worker import Ctx, build_worker_settings, event_task, runtime_of
from services.worker import shutdown as runtime_shutdown
from services.worker import startup as runtime_startup

DISPATCHER = "notifications.dispatcher"  # ctx key


async def startup(ctx: Ctx) -> None:
    """The kernel's runtime, plus the process's dispatcher. It must be made here: arq hands each
    job a copy of this ctx, so anything a job adds is lost (and never stopped)."""
    await runtime_startup(ctx)
    runtime = runtime_of(ctx)
    dispatcher = Dispatcher(runtime, DispatchConfig.from_settings(runtime.settings))
    await dispatcher.start()
    ctx[DISPATCHER] = dispatcher


async def shutdown(ctx: Ctx) -> None:
    dispatcher: Dispatcher | None = ctx.pop(DISPATCHER, None)
    if dispatcher is not None:
        await dispatcher.stop()
    await runtime_shutdown(ctx)


async def record_deliveries(session: AsyncSession, event: EventEnvelope, runtime: Runtime) -> None:
    """Event handler, inside the job's transaction. The dispatcher is woken only once the
    delivery rows are committed (and never for a rollback)."""
    fan_out = FanOutService(session, runtime.settings.webhook_order_max_wait_seconds)
    if await fan_out.on_event(event):
        after_commit(session, wake_dispatchers)


handle_event = event_task(Consumer.notifications, record_deliveries)


def worker_settings() -> type:
    """Built on demand: it reads the settings (Redis URL) of the process that runs it."""
    return build_worker_settings(
        Consumer.notifications, [handle_event], on_startup=startup, on_shutdown=shutdown
    )
