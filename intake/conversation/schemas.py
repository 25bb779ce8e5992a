"""Request and answer bodies of the conversation (the reporter's side)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True)]


class CommentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": "Lubangnya makin besar setelah hujan semalam."}]},
    )

    body: Annotated[Text, Field(min_length=1, max_length=4000)] = Field(
        description="The comment, for the assigned agency (and, unless the complaint is "
        "confidential, everyone who tracks it)",
        examples=["Lubangnya makin besar setelah hujan semalam."],
    )


class ReplyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"body": "Belum ditambal, lubang masih ada sampai hari ini."}]
        },
    )

    body: Annotated[Text, Field(min_length=1, max_length=4000)] = Field(
        description="Your answer to the agency's follow-up: it sends the complaint back to work",
        examples=["Belum ditambal, lubang masih ada sampai hari ini."],
    )


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class RatingIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"rating": 5, "comment": "Cepat ditangani, terima kasih."}]
        },
    )

    # Strict: "5" or 4.5 is not a clear rating.
    rating: int = Field(ge=1, le=5, strict=True, description="1 (poor) to 5 (very good)")
    comment: Annotated[Text, Field(max_length=1000)] | None = Field(
        default=None, examples=["Cepat ditangani, terima kasih."]
    )


class ReopenIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Tambalan sudah rusak lagi setelah seminggu."}]},
    )

    reason: Annotated[Text, Field(min_length=3, max_length=1000)] = Field(
        description="Why the resolution did not hold",
        examples=["Tambalan sudah rusak lagi setelah seminggu."],
    )


class AgencyName(BaseModel):
    id: uuid.UUID
    code: str = Field(examples=["pemda-11.01.dinas-pupr"])
    name: str = Field(examples=["Dinas PUPR Kabupaten Aceh Selatan"])


class CommentOut(BaseModel):
    """A comment of the conversation between the reporter and the assigned agency."""

    id: uuid.UUID = Field(description="The id of its `complaint.commented` timeline event")
    author: Literal["reporter", "agency"]
    agency: AgencyName | None = Field(default=None, description="For an agency's comment")
    actor_role: str | None = Field(default=None, examples=["liaison"])
    body: str | None = Field(
        description="null when the complaint is confidential and you are not its reporter, "
        "its assigned agency or an admin",
        examples=["Lubangnya makin besar setelah hujan semalam."],
    )
    created_at: datetime


class FollowUpOut(BaseModel):
    """A follow-up (tindak lanjut) an agency gave, as the reporter reads it."""

    id: uuid.UUID = Field(description="The id of its `complaint.followed_up` timeline event")
    agency: AgencyName | None
    actor_role: str | None = Field(default=None, examples=["liaison"])
    text: str | None = Field(
        description="null when the complaint is confidential and you are not its reporter, "
        "its assigned agency or an admin",
        examples=["Tim Dinas PUPR telah meninjau lokasi; penambalan dijadwalkan pekan depan."],
    )
    created_at: datetime


class RatingOut(BaseModel):
    tracking_id: str = Field(examples=["ADN-7K3QX9P2"])
    rating: int = Field(examples=[5])
    comment: str | None = Field(examples=["Cepat ditangani, terima kasih."])
    rated_at: datetime


class FollowOut(BaseModel):
    tracking_id: str = Field(examples=["ADN-7K3QX9P2"])
    following: bool = Field(description="You follow it and get its notifications")
    since: datetime | None = Field(default=None, description="When you started following it")
