"""Request and response bodies of the webhook admin API."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    UrlConstraints,
)

from notifications.domain import DeliveryStatus
from notifications.targets import unencodable_host
from services.events.catalogue import INTERNAL_EVENTS, EventType

EVENT_TYPES = ", ".join(f"`{t.value}`" for t in EventType if t not in INTERNAL_EVENTS)

URL_MAX_LENGTH = 2048  # the column's length


def _fits_the_column(url: HttpUrl) -> HttpUrl:
    # max_length checks what was sent; normalizing (a trailing slash, an IDN host in punycode)
    # can make the stored URL longer. The host is checked in its punycode form too: a label of
    # 64+ characters cannot be resolved (nor, later, delivered to).
    if len(str(url)) > URL_MAX_LENGTH:
        raise ValueError(f"the URL is longer than {URL_MAX_LENGTH} characters once normalized")
    reason = unencodable_host(url.host or "")
    if reason is not None:
        raise ValueError(reason)
    return url


WebhookUrl = Annotated[
    HttpUrl, UrlConstraints(max_length=URL_MAX_LENGTH), AfterValidator(_fits_the_column)
]
RegionCodeIn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
EventTypeIn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


DESCRIPTION = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
URL_DESCRIPTION = (
    "Where deliveries are POSTed: https with a public host (http and loopback or private "
    "addresses only in development: ADUAN_WEBHOOK_ALLOW_PRIVATE_TARGETS)"
)
REGIONS_DESCRIPTION = (
    "Kemendagri region codes; a complaint matches when it lies inside any of them (`11` covers "
    "all of Aceh, `11.01` one kabupaten). A regional system may list only codes inside its own "
    "regions (default: all of them)."
)
AGENCIES_DESCRIPTION = (
    "Agency ids; a complaint matches when one of them is assigned to it. An agency may list "
    "only itself and its offices (default: all of them). A complaint matches an endpoint when "
    "it matches its regions or its agencies; with neither (admins only), every complaint."
)
TYPES_DESCRIPTION = (
    f"Event types to receive, among {EVENT_TYPES}. Empty: every complaint event type; "
    "`webhook.*` events (about your own endpoints) only when listed."
)


class EndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://lapor.acehprov.go.id/aduan/webhook",
                    "description": "Sistem pengaduan Pemerintah Aceh",
                    "region_codes": ["11"],
                    "event_types": ["complaint.dispositioned"],
                }
            ]
        },
    )

    url: WebhookUrl = Field(description=URL_DESCRIPTION)
    description: DESCRIPTION | None = None
    region_codes: list[RegionCodeIn] = Field(
        default_factory=list, max_length=600, description=REGIONS_DESCRIPTION, examples=[["11"]]
    )
    agency_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=200, description=AGENCIES_DESCRIPTION
    )
    event_types: list[EventTypeIn] = Field(
        default_factory=list,
        max_length=50,
        description=TYPES_DESCRIPTION,
        examples=[["complaint.dispositioned"]],
    )
    enabled: bool = Field(default=True, description="False: registered, but nothing is sent")


class EndpointUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"enabled": True}, {"event_types": ["complaint.dispositioned"]}]
        },
    )

    url: WebhookUrl | None = Field(default=None, description=URL_DESCRIPTION)
    description: DESCRIPTION | None = None
    region_codes: list[RegionCodeIn] | None = Field(
        default=None, max_length=600, description=REGIONS_DESCRIPTION
    )
    agency_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=200, description=AGENCIES_DESCRIPTION
    )
    event_types: list[EventTypeIn] | None = Field(
        default=None, max_length=50, description=TYPES_DESCRIPTION
    )
    enabled: bool | None = Field(
        default=None,
        description="false stops deliveries (pending ones are cancelled; `recover` sends them "
        "again); true resumes an endpoint Aduan disabled after a 410 or days of failures",
    )


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str = Field(examples=["https://lapor.acehprov.go.id/aduan/webhook"])
    description: str | None = Field(examples=["Sistem pengaduan Pemerintah Aceh"])
    region_codes: list[str] = Field(examples=[["11"]])
    agency_ids: list[uuid.UUID] = Field(default_factory=list)
    event_types: list[str] = Field(
        examples=[["complaint.dispositioned"]], description="Empty: every complaint event type"
    )
    enabled: bool = Field(description="False: nothing is delivered to it")
    active: bool = Field(description="The same as `enabled` (kept for older clients)")
    disabled_reason: str | None = Field(
        default=None,
        description="Why it is disabled: `gone` (it answered 410), `failing` (no success for "
        "days), `owner` (PATCH enabled=false), `deleted`",
        examples=[None],
    )
    owner_kind: str = Field(description="`admin`, `agency` or `regional_system`")
    owner_ref: str | None = Field(description="The owning agency's id or regional system's key")
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="Until then the previous secret signs too (after a rotation)"
    )
    last_success_at: datetime | None = Field(
        default=None,
        description="A recent successful attempt (kept to the minute while the endpoint is "
        "healthy)",
    )
    failing_since: datetime | None = Field(
        default=None, description="The first failed attempt since the last success"
    )
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="The signing secret (Standard Webhooks `whsec_` format). Shown only in this "
        "answer: store it now, it cannot be read again.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0Q1hG+YnBIY="],
    )


class SecretRotated(BaseModel):
    secret: str = Field(
        description="The new signing secret, shown only here",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0Q1hG+YnBIY="],
    )
    previous_secret_expires_at: datetime = Field(
        description="Until then every delivery is signed with both secrets (two signatures in "
        "`webhook-signature`): switch your receiver to the new secret before this"
    )


class PingOut(BaseModel):
    event_id: uuid.UUID = Field(description="The `webhook-id` the receiver will see")
    delivery_id: uuid.UUID = Field(description="Follow it at /api/v1/webhooks/deliveries/{id}")


class DeliveryOut(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID = Field(description="Also the `webhook-id` header the receiver saw")
    event_type: str = Field(examples=["complaint.dispositioned"])
    status: DeliveryStatus
    attempts: int = Field(description="Attempts made so far", examples=[1])
    last_status_code: int | None = Field(
        description="HTTP status of the last attempt; null when it got no answer", examples=[503]
    )
    last_error: str | None = Field(examples=["HTTP 503: Service Unavailable"])
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending)")
    delivered_at: datetime | None
    created_at: datetime


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="1 for the first attempt since the delivery (re)started")
    attempted_at: datetime
    status_code: int | None = Field(examples=[503], description="null: no HTTP answer")
    latency_ms: int | None = Field(examples=[182])
    response: str | None = Field(description="The first 2 KB of the receiver's answer")
    error: str | None = Field(examples=["HTTP 503: maintenance"])


class DeliveryDetail(DeliveryOut):
    attempts_made: list[AttemptOut] = Field(description="Every attempt, oldest first")


class RecoverIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"since": "2026-11-30T00:00:00Z"}]}
    )

    since: datetime = Field(description="Deliveries created at or after this time")


class RecoverOut(BaseModel):
    redelivered: int = Field(description="Failed deliveries queued again", examples=[42])


class EventTypeOut(BaseModel):
    type: str = Field(examples=["complaint.dispositioned"])
    schema_: dict[str, Any] = Field(
        alias="schema",
        serialization_alias="schema",
        description="JSON Schema (2020-12) of the whole webhook body of this type",
    )

    model_config = ConfigDict(populate_by_name=True)
