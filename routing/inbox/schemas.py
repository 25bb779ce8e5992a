"""The agency inbox's request and answer bodies."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.domain.lifecycle import Status

REASON = Field(
    min_length=3,
    max_length=1000,
    description="Why, in a sentence: it is shown on the complaint's timeline",
)


class AssignmentOut(BaseModel):
    """One agency's part in a complaint."""

    id: uuid.UUID
    agency_id: uuid.UUID
    agency_code: str = Field(examples=["pemda-11.01"])
    agency_name: str = Field(examples=["Pemerintah Kabupaten Aceh Selatan"])
    role: str = Field(examples=["handler"], description="handler (must act) or escalation")
    status: str = Field(
        examples=["assigned"],
        description="assigned, accepted, responded, resolved, returned or delegated",
    )
    assigned_at: datetime
    source_id: uuid.UUID | None = Field(
        default=None, description="The assignment this one came from (a delegation)"
    )


class ClockOut(BaseModel):
    """A running deadline of the complaint."""

    kind: str = Field(
        examples=["first_response"],
        description="verification, first_response, completion or reply_window",
    )
    agency_id: uuid.UUID | None
    due_at: datetime
    paused: bool
    overdue: bool = Field(description="Past its due time and not paused")


class InboxItem(BaseModel):
    """A line of the inbox."""

    tracking_id: str = Field(examples=["ADN-7K3QX9P2"])
    status: Status
    status_label: str = Field(examples=["Terdisposisi"])
    report_type: str = Field(examples=["pengaduan"])
    title: str | None = Field(description="null only when the privacy rules withhold it")
    category: str = Field(examples=["infrastruktur"])
    region_code: str = Field(examples=["11.01.01"])
    escalation_level: int
    returns_count: int = Field(description="How often an agency sent it back (bukan wewenang)")
    overdue: bool = Field(description="A running clock is past its due time")
    assignments: list[AssignmentOut] = Field(
        description="The active assignments to your agency and its offices (all, for admins)"
    )
    clocks: list[ClockOut]
    created_at: datetime
    updated_at: datetime


class ReturnOut(BaseModel):
    """What became of a returned complaint (it may have left your inbox)."""

    tracking_id: str = Field(examples=["ADN-7K3QX9P2"])
    status: Status
    status_label: str = Field(examples=["Terdisposisi"])
    returns_count: int
    agencies: list[AssignmentOut] = Field(description="Its active assignments now")


class InboxReporter(BaseModel):
    name: str | None
    email: str | None
    phone: str | None


class InboxEntry(BaseModel):
    """A timeline entry as the inbox shows it: who acted in which role, and why."""

    id: uuid.UUID
    type: str = Field(examples=["complaint.returned"])
    occurred_at: datetime
    status: str | None
    actor: str = Field(examples=["agency"])
    actor_role: str | None = Field(examples=["liaison"])
    reason: str | None
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="What the action named: from/to agency, resume date, follow-up text, …",
    )


class FollowUpOut(BaseModel):
    """A follow-up (tindak lanjut) an agency gave."""

    id: uuid.UUID
    agency_id: uuid.UUID
    text: str = Field(examples=["Tim Dinas PUPR telah meninjau lokasi."])
    actor_role: str = Field(examples=["liaison"])
    created_at: datetime


class InboxComplaint(InboxItem):
    """One complaint of the inbox, as the assigned agency may see it: the content even when
    confidential, the reporter's name unless anonymous, never the contact details."""

    description: str | None
    occurred_on: date | None
    address: str | None
    latitude: Decimal | None
    longitude: Decimal | None
    anonymous: bool
    confidential: bool
    reporter: InboxReporter | None
    held_from_status: str | None
    resume_on: date | None
    all_assignments: list[AssignmentOut] = Field(
        description="Every active assignment of the complaint, whichever agency holds it"
    )
    timeline: list[InboxEntry]
    follow_ups: list[FollowUpOut] = Field(
        description="Every follow-up given, with its text (confidential complaints' too)"
    )
    redacted: list[str] = Field(default_factory=list)


class ActionBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcceptIn(ActionBase):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Diterima, segera ditinjau"}]}
    )

    reason: str | None = Field(
        default=None, min_length=3, max_length=1000, examples=["Diterima, segera ditinjau"]
    )


class FollowUpIn(ActionBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Tim Dinas PUPR telah meninjau lokasi; penambalan pekan depan."}]
        },
    )

    text: str = Field(
        min_length=10,
        max_length=4000,
        description="The follow-up (tindak lanjut) for the reporter",
        examples=["Tim Dinas PUPR telah meninjau lokasi; penambalan dijadwalkan pekan depan."],
    )


class ResolveIn(ActionBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Jalan telah ditambal pada 2 Desember"}]},
    )

    reason: str = Field(
        min_length=3,
        max_length=1000,
        description="What was done",
        examples=["Jalan telah ditambal pada 2 Desember"],
    )


class ReturnIn(ActionBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "Ruas jalan provinsi: kewenangan Pemerintah Provinsi Aceh",
                    "agency_id": "d8322320-8b0c-5d1e-8742-a3450efdcf60",
                }
            ]
        },
    )

    reason: str = Field(
        min_length=3,
        max_length=1000,
        description="Why it is not your agency's business (bukan wewenang)",
        examples=["Jalan nasional: kewenangan Kementerian PUPR"],
    )
    agency_id: uuid.UUID | None = Field(
        default=None,
        description="The agency that should have it; without one it goes to the next "
        "candidate of the disposition rules, else back to the verification queue",
        examples=["d8322320-8b0c-5d1e-8742-a3450efdcf60"],
    )


class DelegateIn(ActionBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "office_id": "8b6a3a52-7c0f-5a43-9d3b-3c1f1f1e0a11",
                    "reason": "Ditangani Dinas PUPR",
                }
            ]
        },
    )

    office_id: uuid.UUID = Field(
        description="One of your agency's offices",
        examples=["8b6a3a52-7c0f-5a43-9d3b-3c1f1f1e0a11"],
    )
    reason: str | None = Field(
        default=None, min_length=3, max_length=1000, examples=["Ditangani Dinas PUPR"]
    )


class HoldIn(ActionBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason": "Menunggu anggaran perubahan disahkan", "resume_on": "2027-01-15"}
            ]
        },
    )

    reason: str = Field(
        min_length=3, max_length=1000, examples=["Menunggu anggaran perubahan disahkan"]
    )
    resume_on: date = Field(
        description="The day to resume (a future date): the SLA sweep resumes it then (WIB)",
        examples=["2027-01-15"],
    )


class ResumeIn(ActionBase):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Anggaran telah disahkan"}]}
    )

    reason: str | None = Field(
        default=None, min_length=3, max_length=1000, examples=["Anggaran telah disahkan"]
    )
