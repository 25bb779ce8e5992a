"""Every ORM table of the platform, on one MetaData (Alembic's target)."""

from services.models.account import Account, ApiKey, RefreshToken
from services.models.base import Base
from services.models.complaint import (
    AssignmentRole,
    AssignmentStatus,
    Complaint,
    ComplaintAgency,
)
from services.models.event import Event, EventFailure, ProcessedEvent
from services.models.idempotency import IdempotencyRecord
from services.models.reference import Agency, AgencyKind, Category, Region, RegionLevel
from services.models.routing import (
    ClockKind,
    ComplaintClock,
    ComplaintFollowUp,
    DispositionRule,
    TargetLevel,
)
from services.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Account",
    "Agency",
    "AgencyKind",
    "ApiKey",
    "AssignmentRole",
    "AssignmentStatus",
    "Base",
    "Category",
    "ClockKind",
    "Complaint",
    "ComplaintAgency",
    "ComplaintClock",
    "ComplaintFollowUp",
    "DispositionRule",
    "Event",
    "EventFailure",
    "IdempotencyRecord",
    "ProcessedEvent",
    "RefreshToken",
    "Region",
    "RegionLevel",
    "TargetLevel",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
