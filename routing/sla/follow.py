"""Routing's clocks follow the events routing records, in the same transaction.

Verification, the inbox and the sweep all record their events in routing's own process, so
instead of hearing them again through the queue (three more jobs per complaint, and a window in
which a clock lags its complaint), the unit of work runs the clock service over them just before
it commits. Events of other services reach `ClockService.on_event` through the worker.
"""

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from routing.sla.clocks import ClockService
from services.clock import read_offset
from services.deps import RuntimeDep, SessionDep
from services.domain.lifecycle import Status
from services.events.catalogue import CLOCK_EVENTS, ROUTING_INPUTS, EventType
from services.events.envelope import EventEnvelope
from services.events.outbox import pending_events
from services.settings import Settings
from services.uow import before_commit

HOOK = "routing.clocks"


def is_first_disposition(event: EventEnvelope) -> bool:
    """Dispositioned straight from verification: the complaint has had no agency before."""
    return (
        event.type == EventType.complaint_dispositioned
        and event.data.get("previous_status") == Status.verified
    )


def follow_clocks(session: AsyncSession, settings: Settings, redis: Redis) -> None:
    """Before `session`'s unit of work commits, move the clocks its recorded events move."""

    async def apply() -> None:
        events = [
            e
            for e in pending_events(session)
            if e.type in CLOCK_EVENTS and e.type not in ROUTING_INPUTS
        ]
        if not events:
            return
        offset = await read_offset(settings, redis)
        clocks = ClockService(session, settings, offset)
        # The common path, set-based: a batch's verifications stop their verification clocks
        # in one statement, and a first disposition (no agency clock can run yet) starts the
        # new agencies' clocks from the event alone. Everything else goes event by event.
        verified = [e for e in events if e.type == EventType.complaint_verified]
        if verified:
            await clocks.stop_verification(
                [e.complaint_id for e in verified if e.complaint_id is not None],
                min(e.occurred_at for e in verified) + offset,
            )
        for event in events:
            if event.type == EventType.complaint_verified:
                continue
            envelope = EventEnvelope.of(event)
            if is_first_disposition(envelope):
                await clocks.start_first_agency_clocks(envelope)
            else:
                await clocks.on_event(envelope)

    before_commit(session, HOOK, apply)


async def clocks_follow_requests(session: SessionDep, runtime: RuntimeDep) -> None:
    """A router dependency: the request's unit of work moves the clocks before it commits."""
    follow_clocks(session, runtime.settings, runtime.redis)
