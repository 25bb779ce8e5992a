"""The conversation's text on the timeline: what an event carries for everyone, what only the
complaint's entitled readers get.

A comment, a reporter's reply, a rating's comment, a reopening's reason and a follow-up are
content. Events are published (webhooks see their `data`), so for a confidential complaint the
text goes to the event row's `private_data` instead, which is never published; readers get it
back through `readable` when the privacy rules let them see the complaint's content (the
reporter, the assigned agencies, admins). Used by intake (the reporter's side) and routing (the
agency's side) alike.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints import AgencyRef, complaint_data
from services.events.catalogue import EventType
from services.events.outbox import record_event
from services.models import Complaint, Event
from services.principal import Principal
from services.privacy import WEBHOOK_AUDIENCE, Audience, shows_content

# The event types of the conversation whose text is content.
TEXT_EVENTS = frozenset(
    {
        EventType.complaint_commented,
        EventType.complaint_reporter_replied,
        EventType.complaint_rated,
        EventType.complaint_reopened,
        EventType.complaint_followed_up,
    }
)


def split_texts(
    confidential: bool, texts: dict[str, str | None]
) -> tuple[dict[str, str | None], dict[str, str | None] | None]:
    """(what the event's data carries, what goes to `private_data`)."""
    if shows_content(WEBHOOK_AUDIENCE, confidential):
        return dict(texts), None
    return dict.fromkeys(texts), dict(texts)


def attach_texts(event: Event, confidential: bool, texts: dict[str, str | None]) -> Event:
    """Put the texts on an event already recorded (a transition's), by the rule above."""
    public, private = split_texts(confidential, texts)
    event.data = event.data | public
    if private is not None:
        event.private_data = (event.private_data or {}) | private
    return event


def record_conversation_event(
    session: AsyncSession,
    complaint: Complaint,
    event_type: EventType,
    *,
    actor: Principal,
    texts: dict[str, str | None],
    agencies: Sequence[AgencyRef] | None = None,
    **details: Any,
) -> Event:
    """An event of the conversation that changes no status, with its texts split."""
    public, private = split_texts(complaint.confidential, texts)
    return record_event(
        session,
        event_type,
        actor=actor,
        complaint_id=complaint.id,
        data=complaint_data(complaint, agencies)
        | {"previous_status": complaint.status, "reason": None}
        | details
        | public,
        private=private,
    )


def readable(event: Event, audience: Audience, confidential: bool) -> dict[str, Any]:
    """The event's data as `audience` may read it: with the private texts when it may see the
    complaint's content."""
    if event.private_data and shows_content(audience, confidential):
        return event.data | event.private_data
    return event.data
