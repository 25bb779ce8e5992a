"""Writing the shared complaint aggregate: every status change goes through `transition`."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.domain.lifecycle import STATUS_LABELS, Status, check_transition
from services.events.catalogue import EventType
from services.events.outbox import record_event
from services.models import Complaint, Event
from services.principal import Principal
from services.privacy import WEBHOOK_AUDIENCE, shows_content


@dataclass(frozen=True)
class AgencyRef:
    """An agency as events name it."""

    id: uuid.UUID
    code: str
    name: str


def active_agencies(complaint: Complaint) -> list[AgencyRef]:
    """From the loaded `assignments` (writers that know them pass `agencies` instead)."""
    return [
        AgencyRef(a.agency.id, a.agency.code, a.agency.name)
        for a in complaint.assignments
        if a.active
    ]


def complaint_data(
    complaint: Complaint, agencies: Sequence[AgencyRef] | None = None
) -> dict[str, Any]:
    """The complaint as events (and so webhooks) carry it: never the reporter's contact."""
    status = Status(complaint.status)
    content = shows_content(WEBHOOK_AUDIENCE, complaint.confidential)
    if agencies is None:
        agencies = active_agencies(complaint)
    return {
        "tracking_id": complaint.tracking_id,
        "status": status.value,
        "status_label": STATUS_LABELS[status],
        "report_type": complaint.report_type,
        "category": complaint.category_code,
        "region_code": complaint.region_code,
        # Events are what webhooks carry: the receivers' view of confidential content.
        "title": complaint.title if content else None,
        "description": complaint.description if content else None,
        "anonymous": complaint.anonymous,
        "confidential": complaint.confidential,
        "escalation_level": complaint.escalation_level,
        "agencies": [{"id": str(a.id), "code": a.code, "name": a.name} for a in agencies],
    }


def transition(
    session: AsyncSession,
    complaint: Complaint,
    target: Status,
    event_type: EventType,
    *,
    actor: Principal,
    reason: str | None = None,
    agencies: Sequence[AgencyRef] | None = None,
) -> Event:
    """Check and apply a status change, and record its event in the same transaction.
    `agencies`: the complaint's active agencies, when the caller has them at hand (else read
    from the loaded `assignments`)."""
    previous = complaint.status
    complaint.status = check_transition(previous, target).value
    return record_event(
        session,
        event_type,
        actor=actor,
        complaint_id=complaint.id,
        data=complaint_data(complaint, agencies) | {"previous_status": previous, "reason": reason},
    )


def record_complaint_event(
    session: AsyncSession,
    complaint: Complaint,
    event_type: EventType,
    *,
    actor: Principal,
    reason: str | None = None,
    agencies: Sequence[AgencyRef] | None = None,
    **details: Any,
) -> Event:
    """An event of the complaint that changes no status (a delegation, a warning, an
    escalation): the same data as a transition's, with `details` beside it."""
    return record_event(
        session,
        event_type,
        actor=actor,
        complaint_id=complaint.id,
        data=complaint_data(complaint, agencies)
        | {"previous_status": complaint.status, "reason": reason}
        | details,
    )
