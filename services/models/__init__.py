"""Every ORM table of the platform, on one MetaData (Alembic's target)."""

from services.models.account import Account, ApiKey, RefreshToken
from services.models.attachment import ComplaintAttachment  # attachments (issue 8)
from services.models.base import Base
from services.models.complaint import (
    AssignmentRole,
    AssignmentStatus,
    Complaint,
    ComplaintAgency,
)
from services.models.conversation import ComplaintFollower  # convo
from services.models.event import Event, EventFailure, ProcessedEvent
from services.models.idempotency import IdempotencyRecord
from services.models.open311 import Open311Request

# Notifications to people (issue 9, people)
from services.models.people import (
    NotificationContact,
    NotificationFollower,
    NotificationPreference,
    PersonMessage,
)
from services.models.reference import Agency, AgencyKind, Category, Region, RegionLevel
from services.models.routing import (
    ClockKind,
    ComplaintClock,
    ComplaintFollowUp,
    DispositionRule,
    TargetLevel,
)
from services.models.stats import (
    StatsAreaWeekly,
    StatsCategoryCount,
    StatsComplaintFact,
    StatsSpan,
    StatsWatermark,
    StatsWeekly,
    StatsWeeklyAgency,
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
    "ComplaintAttachment",  # attachments (issue 8)
    "ComplaintClock",
    "ComplaintFollowUp",
    "ComplaintFollower",  # convo
    "DispositionRule",
    "Event",
    "EventFailure",
    "IdempotencyRecord",
    "NotificationContact",
    "NotificationFollower",
    "NotificationPreference",
    "Open311Request",
    "PersonMessage",
    "ProcessedEvent",
    "RefreshToken",
    "Region",
    "RegionLevel",
    "StatsAreaWeekly",
    "StatsCategoryCount",
    "StatsComplaintFact",
    "StatsSpan",
    "StatsWatermark",
    "StatsWeekly",
    "StatsWeeklyAgency",
    "TargetLevel",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
