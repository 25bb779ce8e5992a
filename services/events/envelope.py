import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.models import Event


class EventEnvelope(BaseModel):
    """What travels through the queues: an event row, serialisable as JSON."""

    id: uuid.UUID
    type: str
    occurred_at: datetime
    complaint_id: uuid.UUID | None
    actor_kind: str
    actor_id: str | None
    data: dict[str, Any]
    trace_id: str | None

    @classmethod
    def of(cls, event: Event) -> "EventEnvelope":
        return cls(
            id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            complaint_id=event.complaint_id,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            data=event.data,
            trace_id=event.trace_id,
        )
