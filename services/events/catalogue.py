"""Which event types exist and which consumers (arq queues) receive each."""

import enum


class EventType(enum.StrEnum):
    complaint_submitted = "complaint.submitted"
    complaint_verified = "complaint.verified"
    complaint_dispositioned = "complaint.dispositioned"


class Consumer(enum.StrEnum):
    routing = "routing"
    notifications = "notifications"


# Notifications hears everything (webhook subscribers choose their own types).
CONSUMERS: dict[EventType, tuple[Consumer, ...]] = {
    EventType.complaint_submitted: (Consumer.routing, Consumer.notifications),
    EventType.complaint_verified: (Consumer.notifications,),
    EventType.complaint_dispositioned: (Consumer.notifications,),
}


def consumers_of(event_type: str) -> tuple[Consumer, ...]:
    return CONSUMERS.get(EventType(event_type), ())
