import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from services.domain.channels import Channel
from services.domain.lifecycle import Status


class ReportType(enum.StrEnum):
    pengaduan = "pengaduan"
    aspirasi = "aspirasi"
    permintaan_informasi = "permintaan_informasi"


Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{8,15}$")]
RegionCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
]


# Indonesia's extent with a margin (Weh 6.1°N, Rote 11.0°S, Aceh 95.0°E, Papua 141.0°E).
LATITUDE_BOUNDS = (Decimal("-11.5"), Decimal("6.5"))
LONGITUDE_BOUNDS = (Decimal("94.5"), Decimal("141.5"))
# "Not in the future" as the reporter's calendar has it: the platform's reference zone (WIB),
# so an incident of this morning in Jakarta is never refused by a UTC server still on yesterday.
INCIDENT_TIMEZONE = ZoneInfo("Asia/Jakarta")
ExternalRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^\S+$")
]


# Validation context under which a complaint may have no region (Open311, intake/open311/).
REGION_OPTIONAL = "region_optional"


def _a_region_code(schema: dict[str, Any]) -> None:
    """The JSON API's schema of `region_code`: a string (null is refused there)."""
    schema.pop("anyOf", None)
    schema.update(type="string", pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


class ReporterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Phone | None = Field(default=None, description="E.164 or local digits")


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "report_type": "pengaduan",
                    "title": "Jalan berlubang di depan Pasar Bakongan",
                    "description": "Jalan utama di depan pasar berlubang besar sejak dua bulan "
                    "dan membahayakan pengendara motor.",
                    "category": "infrastruktur",
                    "region_code": "11.01.01",
                    "occurred_on": "2026-11-20",
                    "address": "Jl. Pasar Bakongan, depan kios buah",
                    "latitude": "3.268750",
                    "longitude": "97.463900",
                    "channel": "mobile",
                    "reporter": {
                        "name": "Siti",
                        "email": "siti@example.id",
                        "phone": "+6281234567890",
                    },
                    "anonymous": False,
                    "confidential": False,
                },
                {
                    "report_type": "pengaduan",
                    "title": "Pungutan liar di loket pembuatan KTP",
                    "description": "Petugas meminta uang Rp50.000 di luar ketentuan untuk "
                    "mempercepat pembuatan KTP elektronik.",
                    "region_code": "11.01",
                    "channel": "regional_system",
                    "external_ref": "SP4N-ACEHSEL-2026-000123",
                    "external_tracking_ref": "LPR-123456",
                    "anonymous": True,
                },
            ]
        },
    )

    report_type: ReportType
    title: Annotated[Text, Field(min_length=5, max_length=150)]
    description: Annotated[Text, Field(min_length=20, max_length=4_000)]
    category: Annotated[Text, Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="A code of GET /api/v1/categories; leave it out and routing classifies the "
        "complaint from its text",
    )
    # Required here; None only when an Open311 request (intake/open311/) came without a region
    # (validated with the context REGION_OPTIONAL): it then waits for an admin to set one.
    region_code: RegionCode | None = Field(
        description="Kemendagri code at any level (province, kabupaten/kota, kecamatan, "
        "desa/kelurahan), e.g. 11.01.01",
        json_schema_extra=_a_region_code,
    )
    occurred_on: date | None = Field(
        default=None, description="When it happened; not after today (Asia/Jakarta)"
    )
    target_agency_id: uuid.UUID | None = Field(
        default=None,
        description="The agency the reporter asks for (GET /api/v1/agencies); routing honours "
        "it when its scope covers the region",
    )
    address: Annotated[Text, Field(max_length=500)] | None = None
    latitude: Decimal | None = Field(
        default=None,
        ge=LATITUDE_BOUNDS[0],
        le=LATITUDE_BOUNDS[1],
        decimal_places=6,
        description="Inside Indonesia; with longitude (both or neither)",
    )
    longitude: Decimal | None = Field(
        default=None,
        ge=LONGITUDE_BOUNDS[0],
        le=LONGITUDE_BOUNDS[1],
        decimal_places=6,
        description="Inside Indonesia; with latitude (both or neither)",
    )
    channel: Channel | None = Field(
        default=None,
        description="How the reporter reached you: mobile, web or sms (default web); "
        "regional_system is set for regional systems' keys, open311 by /open311/v2",
    )
    external_ref: ExternalRef | None = Field(
        default=None,
        description="Regional systems only: your own id of this complaint. Forwarding the same "
        "external_ref again answers 200 with the complaint filed the first time",
        examples=["SP4N-ACEHSEL-2026-000123"],
    )
    external_tracking_ref: ExternalRef | None = Field(
        default=None,
        description="Regional systems only: the tracking number your reporter was given",
        examples=["LPR-123456"],
    )
    reporter: ReporterIn | None = None
    # Strict: `0`, `"no"` or `"false"` are not a reporter's clear choice about their privacy.
    anonymous: bool = Field(
        default=False, strict=True, description="Hide the reporter's identity from agencies"
    )
    confidential: bool = Field(
        default=False, strict=True, description="Keep the content out of public view"
    )

    @field_validator("region_code")
    @classmethod
    def _region_required(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not (info.context or {}).get(REGION_OPTIONAL):
            raise PydanticCustomError("missing", "Field required")
        return value

    @field_validator("occurred_on")
    @classmethod
    def _not_in_the_future(cls, value: date | None) -> date | None:
        if value is not None and value > datetime.now(INCIDENT_TIMEZONE).date():
            raise PydanticCustomError(
                "date_in_future", "The date may not be in the future (Asia/Jakarta)"
            )
        return value


class AssignedAgency(BaseModel):
    """An agency that must act on the complaint (the full record: GET /api/v1/agencies/{id})."""

    id: uuid.UUID
    code: str
    name: str
    kind: str
    region_code: str | None


class EventLabel(BaseModel):
    id: str = Field(description="Indonesian", examples=["Didisposisikan ke instansi"])
    en: str = Field(description="English", examples=["Assigned to an agency"])


class TimelineEntry(BaseModel):
    id: uuid.UUID
    type: str = Field(examples=["complaint.dispositioned"])
    label: EventLabel
    occurred_at: datetime
    status: Status | None
    status_label: str | None
    actor: str = Field(description="Who acted: anonymous, citizen, agency, admin or system")
    actor_role: str | None = Field(
        default=None,
        description="The role it acted in (coordinator, liaison, agency, admin, system, …)",
        examples=["liaison"],
    )
    reason: str | None = None


class ReporterOut(BaseModel):
    """Who reported. Shown to the reporter and admins; the assigned agency sees the name only,
    and not even that when the complaint is anonymous."""

    name: str | None
    email: str | None
    phone: str | None


class ComplaintOut(BaseModel):
    tracking_id: str = Field(examples=["ADN-7K3QX9P2G"])
    status: Status
    status_label: str = Field(examples=["Terdisposisi"])
    report_type: ReportType
    title: str | None = Field(description="null when confidential and you are not entitled")
    description: str | None = Field(description="null when confidential and you are not entitled")
    category: str = Field(description="`lainnya` until routing classifies an uncategorised one")
    region_code: str | None = Field(description="null: an Open311 request waiting for its region")
    region_name: str | None
    channel: Channel
    external_tracking_ref: str | None = Field(
        default=None, description="The forwarding regional system's own tracking number"
    )
    occurred_on: date | None
    address: str | None
    latitude: Decimal | None
    longitude: Decimal | None
    anonymous: bool
    confidential: bool
    escalation_level: int
    reporter: ReporterOut | None = Field(
        default=None, description="Only for the reporter, admins and (name only) the agency"
    )
    redacted: list[str] = Field(
        default_factory=list,
        description="Fields withheld from you by the privacy rules (confidential content, the "
        "reporter's identity or contact details)",
        examples=[["title", "description", "address"]],
    )
    agencies: list[AssignedAgency]
    timeline: list[TimelineEntry]
    created_at: datetime
    updated_at: datetime


class PossibleDuplicate(BaseModel):
    """An open complaint like this one: an app may offer to follow it instead."""

    tracking_id: str = Field(examples=["ADN-7K3QX9P2G"])
    title: str = Field(examples=["Jalan berlubang di depan Pasar Bakongan"])
    status: Status
    status_label: str = Field(examples=["Terdisposisi"])


class ComplaintCreated(ComplaintOut):
    reporter_token: str | None = Field(
        description="Shown once: send it as `X-Reporter-Token` to see and act on this complaint "
        "as its reporter without an account. Only its hash is kept, so it is null when a "
        "regional system forwards the same `external_ref` again.",
        examples=["rpt_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1"],
    )
    possible_duplicates: list[PossibleDuplicate] = Field(
        default_factory=list,
        description="Open, non-confidential complaints of the same kabupaten/kota and category "
        "from the last 30 days with similar text, most similar first (at most a few)",
    )


class ComplaintListItem(BaseModel):
    """A line of the public listing: never a confidential complaint, never who reported."""

    tracking_id: str = Field(examples=["ADN-7K3QX9P2G"])
    status: Status
    status_label: str = Field(examples=["Terdisposisi"])
    report_type: ReportType
    title: str | None
    description: str | None
    category: str
    region_code: str | None
    region_name: str | None
    channel: Channel
    occurred_on: date | None
    rank: float | None = Field(
        default=None, description="Full-text rank when searching with `q` (higher: closer)"
    )
    created_at: datetime
    updated_at: datetime
    redacted: list[str] = Field(default_factory=list)


class ComplaintTimeline(BaseModel):
    tracking_id: str = Field(examples=["ADN-7K3QX9P2G"])
    status: Status
    status_label: str
    events: list[TimelineEntry]
    redacted: list[str] = Field(
        default_factory=list,
        description="What the privacy rules withheld from you (`reason` of confidential ones)",
    )


class ComplaintSummary(BaseModel):
    """A line in the reporter's own list."""

    tracking_id: str = Field(examples=["ADN-7K3QX9P2G"])
    status: Status
    status_label: str = Field(examples=["Terdisposisi"])
    report_type: ReportType
    title: str
    category: str
    region_code: str | None
    created_at: datetime
    updated_at: datetime


class CategoryOut(BaseModel):
    code: str = Field(examples=["infrastruktur"])
    name: str = Field(examples=["Infrastruktur"])
