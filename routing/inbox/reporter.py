"""What the reporter's answers (recorded by intake, heard by the routing worker) change on the
agencies' side: their assignments. Never commits; the clocks follow in routing/sla/clocks.py.

- resolution_accepted: the handlers that answered (responded) are done (resolved);
- reopened: the handlers that were done (resolved or responded) work on it again (accepted),
  so it is back in their hands and their clocks start again.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from routing.sla.repository import ComplaintReadRepository
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.models.complaint import AssignmentRole, AssignmentStatus

DONE = frozenset({AssignmentStatus.resolved, AssignmentStatus.responded})


async def on_reporter_event(session: AsyncSession, event: EventEnvelope) -> None:
    if event.complaint_id is None:
        return
    if event.type == EventType.complaint_resolution_accepted:
        await _handlers(session, event.complaint_id, {AssignmentStatus.responded}, "resolved")
    elif event.type == EventType.complaint_reopened:
        await _handlers(session, event.complaint_id, DONE, AssignmentStatus.accepted.value)


async def _handlers(
    session: AsyncSession, complaint_id: uuid.UUID, current: frozenset[str] | set[str], new: str
) -> None:
    for assignment in await ComplaintReadRepository(session).assignments([complaint_id]):
        if (
            assignment.active
            and assignment.role == AssignmentRole.handler
            and assignment.status in current
        ):
            assignment.status = new
