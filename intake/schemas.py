import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

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
                    "reporter": {
                        "name": "Siti",
                        "email": "siti@example.id",
                        "phone": "+6281234567890",
                    },
                    "anonymous": False,
                    "confidential": False,
                }
            ]
        },
    )

    report_type: ReportType
    title: Annotated[Text, Field(min_length=5, max_length=200)]
    description: Annotated[Text, Field(min_length=20, max_length=10_000)]
    category: Annotated[Text, Field(min_length=1, max_length=64)]
    # Required here; None only when an Open311 request (intake/open311/) came without a region
    # (validated with the context REGION_OPTIONAL): it then waits for an admin to set one.
    region_code: RegionCode | None = Field(
        description="Kemendagri code at any level, e.g. 11.01.01",
        json_schema_extra=_a_region_code,
    )
    occurred_on: date | None = None
    address: Annotated[Text, Field(max_length=500)] | None = None
    latitude: Decimal | None = Field(default=None, ge=-90, le=90, decimal_places=6)
    longitude: Decimal | None = Field(default=None, ge=-180, le=180, decimal_places=6)
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


class AssignedAgency(BaseModel):
    """An agency that must act on the complaint (the full record: GET /api/v1/agencies/{id})."""

    id: uuid.UUID
    code: str
    name: str
    kind: str
    region_code: str | None


class TimelineEntry(BaseModel):
    id: uuid.UUID
    type: str = Field(examples=["complaint.dispositioned"])
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
    tracking_id: str = Field(examples=["ADN-7K3QX9P2"])
    status: Status
    status_label: str = Field(examples=["Terdisposisi"])
    report_type: ReportType
    title: str | None = Field(description="null when confidential and you are not entitled")
    description: str | None = Field(description="null when confidential and you are not entitled")
    category: str
    region_code: str | None = Field(description="null: an Open311 request waiting for its region")
    region_name: str | None
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


class ComplaintCreated(ComplaintOut):
    reporter_token: str = Field(
        description="Shown once: send it as `X-Reporter-Token` to see and act on this complaint "
        "as its reporter without an account. Only its hash is kept.",
        examples=["rpt_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1"],
    )


class ComplaintSummary(BaseModel):
    """A line in the reporter's own list."""

    tracking_id: str = Field(examples=["ADN-7K3QX9P2"])
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
