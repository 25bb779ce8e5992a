"""Verification queue and actions: request and answer bodies."""

import enum
import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.domain.tracking import TRACKING_ID_PATTERN

TRACKING_ID_EXAMPLE = "ADN-7K3QX9P2G"


class QueueStatus(enum.StrEnum):
    submitted = "submitted"  # awaiting verification
    on_hold = "on_hold"  # held (tunda) during verification


class ArchiveReason(enum.StrEnum):
    not_actionable = "not_actionable"
    spam = "spam"
    not_public_service = "not_public_service"
    duplicate = "duplicate"


class ReporterView(BaseModel):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class QueueItem(BaseModel):
    tracking_id: str = Field(examples=[TRACKING_ID_EXAMPLE])
    status: str = Field(examples=["submitted"])
    status_label: str = Field(examples=["Belum Terverifikasi"])
    report_type: str = Field(examples=["pengaduan"])
    category: str = Field(examples=["korupsi_pungli"])
    region_code: str | None = Field(
        examples=["11.01.01"],
        description="Null for an Open311 request that came without a region (reason "
        "`region_missing`): an admin sets it",
    )
    title: str | None = Field(description="Null when the caller may not see it (`redacted`)")
    description: str | None = None
    address: str | None = None
    anonymous: bool
    confidential: bool
    reporter: ReporterView | None = None
    target_agency_id: uuid.UUID | None = None
    reasons: list[str] = Field(
        default_factory=list,
        examples=[["category_policy"]],
        description="Why it waits for a person: category_policy, channel_policy, incomplete, "
        "invalid_region, flagged_words, low_confidence (empty: the worker has not looked yet)",
    )
    flagged_words: list[str] = Field(default_factory=list)
    classification: dict[str, object] | None = Field(
        default=None,
        description="For an uncategorised complaint: the best category found, its confidence "
        "and the words that matched",
    )
    held_from_status: str | None = None
    resume_on: date | None = None
    submitted_at: datetime
    redacted: list[str] = Field(default_factory=list, examples=[["reporter.email"]])


class VerifyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason": "laporan lengkap dan jelas", "category": "infrastruktur"},
                {"target_agency_id": "d8322320-8b0c-5d1e-8742-a3450efdcf60"},
            ]
        },
    )

    reason: str | None = Field(default=None, min_length=3, max_length=500)
    category: str | None = Field(
        default=None, max_length=64, description="Corrects the category before disposition"
    )
    target_agency_id: uuid.UUID | None = Field(
        default=None,
        description="Disposition to this agency (active, its scope covering the complaint's "
        "region) instead of what the rules choose",
    )


class HoldIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "menunggu konfirmasi lokasi", "resume_on": "2026-12-07"}]
        },
    )

    reason: str = Field(min_length=3, max_length=500)
    resume_on: date = Field(
        description="The day the complaint comes back (today or later): the SLA sweep resumes "
        "it then (WIB)"
    )


class ResumeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "lokasi sudah dikonfirmasi"}]}
    )

    reason: str | None = Field(default=None, min_length=3, max_length=500)


class ArchiveIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason_code": "spam", "reason": "iklan judi online"},
                {"reason_code": "duplicate", "duplicate_of": TRACKING_ID_EXAMPLE},
            ]
        },
    )

    reason_code: ArchiveReason
    reason: str | None = Field(default=None, min_length=3, max_length=500)
    duplicate_of: str | None = Field(
        default=None,
        pattern=TRACKING_ID_PATTERN,
        description="For `duplicate`: the tracking id of the complaint it repeats",
    )


class RequestInfoIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "Mohon sebutkan nama desa dan patokan lokasi jalan yang rusak."}
            ]
        },
    )

    question: str = Field(min_length=10, max_length=2000)


class ActionOut(BaseModel):
    tracking_id: str = Field(examples=[TRACKING_ID_EXAMPLE])
    status: str = Field(examples=["dispositioned"])
    status_label: str = Field(examples=["Terdisposisi"])
    category: str = Field(examples=["infrastruktur"])
    agency: dict[str, str] | None = Field(
        default=None,
        description="The agency it was dispositioned to (verify only)",
        examples=[{"id": "…", "code": "pemda-11.01", "name": "Pemerintah Kabupaten Aceh Selatan"}],
    )
    rule_id: uuid.UUID | None = Field(default=None, description="The rule that chose the agency")


# Open311 requests without a region (intake/open311/): an admin sets it.
class RegionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"region_code": "32.73.01", "reason": "lokasi dari koordinat pelapor"}]
        },
    )

    region_code: str = Field(
        pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$",
        description="Kemendagri code at any level (a kelurahan/desa code routes best)",
    )
    reason: str | None = Field(default=None, min_length=3, max_length=500)
