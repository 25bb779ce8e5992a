import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AttachmentOut(BaseModel):
    """A file of the complaint: the reporter's, or one an agency attached to its follow-up."""

    id: uuid.UUID
    content_type: str = Field(
        description="Decided from the file's bytes: image/jpeg, image/png, image/webp, "
        "application/pdf or video/mp4",
        examples=["image/jpeg"],
    )
    size: int = Field(description="Bytes as stored (images after re-encoding)", examples=[482113])
    sha256: str = Field(
        description="SHA-256 (hex) of the stored bytes",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )
    filename: str | None = Field(
        description="The uploader's file name, sanitised; only for the reporter, the assigned "
        "agencies and admins (a name can say who took the photo)",
        examples=["jalan-berlubang.jpg"],
    )
    uploaded_by: Literal["reporter", "agency"]
    follow_up_id: uuid.UUID | None = Field(
        description="The agency's follow-up (tindak lanjut) it belongs to; null: the reporter's"
    )
    created_at: datetime
    url: str = Field(
        description="Where to download it (send the same credentials or X-Reporter-Token)",
        examples=[
            "/api/v1/complaints/ADN-7K3QX9P2/attachments/019ad2c1-5f0e-7c3a-9b1e-2a4c6d8e0f12"
        ],
    )
