"""Request and response bodies of the webhook admin API."""

import uuid
from datetime import datetime
from typing import Annotated

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
from services.events.catalogue import INTERNAL_EVENTS, EventType

EVENT_TYPES = ", ".join(f"`{t.value}`" for t in EventType if t not in INTERNAL_EVENTS)

URL_MAX_LENGTH = 2048  # the column's length


def _fits_the_column(url: HttpUrl) -> HttpUrl:
    # max_length checks what was sent; normalizing (a trailing slash, an IDN host in punycode)
    # can make the stored URL longer.
    if len(str(url)) > URL_MAX_LENGTH:
        raise ValueError(f"the URL is longer than {URL_MAX_LENGTH} characters once normalized")
    return url


WebhookUrl = Annotated[
    HttpUrl, UrlConstraints(max_length=URL_MAX_LENGTH), AfterValidator(_fits_the_column)
]
RegionCodeIn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
EventTypeIn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


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

    url: WebhookUrl = Field(
        description="Where deliveries are POSTed: http(s) with a public host (loopback and "
        "private addresses are refused unless ADUAN_WEBHOOK_ALLOW_PRIVATE_TARGETS is set)"
    )
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        None
    )
    region_codes: list[RegionCodeIn] = Field(
        default_factory=list,
        max_length=600,
        description="Kemendagri region codes; a complaint matches when it lies inside any of "
        "them (`11` covers all of Aceh, `11.01` one kabupaten). Empty: every region.",
        examples=[["11", "12.71"]],
    )
    event_types: list[EventTypeIn] = Field(
        default_factory=list,
        max_length=50,
        description=f"Event types to receive, among {EVENT_TYPES}. Empty: every type.",
        examples=[["complaint.dispositioned"]],
    )


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str = Field(examples=["https://lapor.acehprov.go.id/aduan/webhook"])
    description: str | None = Field(examples=["Sistem pengaduan Pemerintah Aceh"])
    region_codes: list[str] = Field(examples=[["11"]], description="Empty: every region")
    event_types: list[str] = Field(
        examples=[["complaint.dispositioned"]], description="Empty: every event type"
    )
    active: bool = Field(description="False once deleted: nothing more is delivered to it")
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="The signing secret (Standard Webhooks `whsec_` format). Shown only in this "
        "answer: store it now, it cannot be read again.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0Q1hG+YnBIY="],
    )


class DeliveryOut(BaseModel):
    id: uuid.UUID
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
