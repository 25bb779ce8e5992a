"""Every ORM table of the platform, on one MetaData (Alembic's target)."""

from services.models.account import Account, ApiKey, RefreshToken
from services.models.base import Base
from services.models.complaint import Complaint, ComplaintAgency
from services.models.event import Event, EventFailure, ProcessedEvent
from services.models.idempotency import IdempotencyRecord
from services.models.reference import Agency, AgencyKind, Category, Region, RegionLevel
from services.models.webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Account",
    "Agency",
    "AgencyKind",
    "ApiKey",
    "Base",
    "Category",
    "Complaint",
    "ComplaintAgency",
    "Event",
    "EventFailure",
    "IdempotencyRecord",
    "ProcessedEvent",
    "RefreshToken",
    "Region",
    "RegionLevel",
    "WebhookDelivery",
    "WebhookEndpoint",
]
