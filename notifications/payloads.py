"""What a webhook carries: one pydantic model per event type. Every body is built through these
models (`build_body`), and `GET /api/v1/webhooks/event-types` publishes their JSON Schemas, so
the catalogue cannot drift from what is sent.

Data models allow extra fields (`additionalProperties`): a new detail of an event reaches
receivers before the catalogue names it, and a receiver that validates must not break on it.
What an endpoint may see of a complaint is services/privacy.py's decision (`build_body`).
"""

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from notifications.signing import iso_utc
from services.events.catalogue import EventType
from services.logging import get_logger
from services.privacy import WEBHOOK_AUDIENCE, Audience, redact

log = get_logger(__name__)


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


class AgencyData(_Data):
    id: str | None = Field(default=None, examples=["d8322320-5b7e-4c55-9e0a-0c3f1a2b4c5d"])
    code: str = Field(examples=["pemda-11.01"])
    name: str = Field(examples=["Pemerintah Kabupaten Aceh Selatan"])


class ComplaintData(_Data):
    """The complaint as every complaint event carries it; never the reporter's contact."""

    tracking_id: str = Field(examples=["ADN-HYVVD94K"])
    status: str = Field(examples=["dispositioned"])
    status_label: str | None = Field(default=None, examples=["Terdisposisi"])
    report_type: str | None = Field(default=None, examples=["pengaduan"])
    category: str | None = Field(default=None, examples=["infrastruktur"])
    region_code: str | None = Field(default=None, examples=["11.01.01"])
    title: str | None = Field(default=None, description="null when the endpoint may not see it")
    description: str | None = Field(
        default=None, description="null when the endpoint may not see it (confidential)"
    )
    anonymous: bool | None = None
    confidential: bool | None = None
    escalation_level: int | None = Field(default=None, examples=[0])
    agencies: list[AgencyData] = Field(default_factory=list, description="Assigned now")
    previous_status: str | None = Field(default=None, examples=["verified"])
    reason: str | None = Field(default=None, examples=["disposisi ke Pemerintah Kabupaten ..."])
    redacted: list[str] = Field(
        default_factory=list, description="Fields this endpoint may not see (set to null)"
    )


class ClassifiedData(ComplaintData):
    previous_category: str | None = None
    method: str | None = Field(default=None, examples=["keywords"])
    confidence: float | None = None


class InfoRequestedData(ComplaintData):
    question: str | None = None


class ClockData(ComplaintData):
    """Deadline events: which clock, whose, due when."""

    clock: str | None = Field(default=None, examples=["follow_up"])
    agency: AgencyData | dict[str, Any] | None = None
    due_at: str | None = None
    notify: str | None = None
    reminder: int | None = None


class DelegatedData(ComplaintData):
    from_agency: AgencyData | None = None
    to_agency: AgencyData | None = None


class WebhookOwnerData(_Data):
    endpoint_id: uuid.UUID
    owner_kind: str = Field(examples=["regional_system"])
    owner_ref: str | None = Field(
        default=None, description="The owner: an agency id, or a regional system's key"
    )


class DeliveryExhaustedData(WebhookOwnerData):
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str = Field(examples=["complaint.dispositioned"])
    attempts: int = Field(examples=[8])
    last_status_code: int | None = Field(default=None, examples=[503])
    last_error: str | None = None
    url: str | None = Field(default=None, description="The endpoint's URL when it failed")
    failing_since: datetime | None = Field(
        default=None, description="Since when the endpoint has had no success, if it has not"
    )


class EndpointDisabledData(WebhookOwnerData):
    reason: Literal["gone", "failing"] = Field(
        description="`gone`: the receiver answered 410; `failing`: no success for too long"
    )
    url: str
    failing_since: datetime | None = None


class PingData(_Data):
    endpoint_id: uuid.UUID
    message: str = Field(examples=["Aduan webhook test"])


# The data model of each event type; types another piece adds later fall back to ComplaintData.
DATA_MODELS: dict[str, type[_Data]] = {
    EventType.complaint_classified.value: ClassifiedData,
    EventType.complaint_info_requested.value: InfoRequestedData,
    EventType.complaint_sla_warning.value: ClockData,
    EventType.complaint_sla_breached.value: ClockData,
    EventType.complaint_reminder.value: ClockData,
    EventType.complaint_escalated.value: ClockData,
    EventType.complaint_delegated.value: DelegatedData,
    EventType.webhook_delivery_exhausted.value: DeliveryExhaustedData,
    EventType.webhook_endpoint_disabled.value: EndpointDisabledData,
    EventType.webhook_ping.value: PingData,
}


def data_model(event_type: str) -> type[_Data]:
    return DATA_MODELS.get(event_type, ComplaintData)


def is_complaint_event(event_type: str) -> bool:
    return data_model(event_type) is ComplaintData or issubclass(
        data_model(event_type), ComplaintData
    )


def payload_model(event_type: str) -> type[BaseModel]:
    """The whole body of one event type: `type`, `timestamp`, `sequence`, `data`."""
    return create_model(
        "Payload_" + event_type.replace(".", "_"),
        __config__=ConfigDict(title=f"{event_type} webhook"),
        type=(Literal[event_type], Field(description="The event type")),  # type: ignore[arg-type]
        timestamp=(datetime, Field(description="When the event happened (UTC)")),
        sequence=(
            int | None,
            Field(
                description="Position of the event in its complaint's history (1, 2, ...; gaps "
                "are events this endpoint does not receive); null for events of no complaint"
            ),
        ),
        data=(data_model(event_type), ...),
    )


def catalogue() -> list[dict[str, Any]]:
    """Every event type with the JSON Schema of its webhook body."""
    return [
        {"type": t.value, "schema": payload_model(t.value).model_json_schema()} for t in EventType
    ]


def build_body(
    event_type: str,
    occurred_at: datetime,
    data: dict[str, Any],
    *,
    sequence: int | None,
    audience: Audience,
) -> str:
    """The JSON body of one delivery, through the event type's model, with what `audience` may
    not see of a complaint blanked. Data that does not fit its model (an event recorded by an
    older version) is sent as recorded rather than held back: the miss is logged."""
    view = dict(data)
    if is_complaint_event(event_type):
        view = redact(
            view,
            audience,
            anonymous=bool(view.get("anonymous")),
            confidential=bool(view.get("confidential")),
        )
    model = data_model(event_type)
    try:
        shaped = model.model_validate(view).model_dump(mode="json")
    except ValidationError as exc:
        log.error("webhook %s data does not fit its model: %s", event_type, exc)
        shaped = view
    return json.dumps(
        {
            "type": event_type,
            "timestamp": iso_utc(occurred_at),
            "sequence": sequence,
            "data": shaped,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def audience_of(owner_kind: str, agency_ids: Sequence[str], data: dict[str, Any]) -> Audience:
    """Who an endpoint is, for the privacy rules: an agency's endpoint is the assigned agency of
    the complaints assigned to one of its agencies; a regional system's is a regional system;
    any other endpoint is a system outside the complaint (WEBHOOK_AUDIENCE)."""
    assigned = {str(a.get("id")) for a in data.get("agencies") or [] if isinstance(a, dict)}
    if assigned & set(agency_ids):
        return Audience.assigned_agency
    if owner_kind == "regional_system":
        return Audience.regional_system
    return WEBHOOK_AUDIENCE
