"""Files attached to a complaint by its reporter, or to a follow-up by the agency that gave it;
owned by intake. The bytes are in the media store (services/storage.py) under `sha256`."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class ComplaintAttachment(Base):
    __tablename__ = "complaint_attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    # Set when an agency attached it to its follow-up (tindak lanjut); None: the reporter's.
    follow_up_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("complaint_follow_ups.id"), default=None
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # the media store's key
    content_type: Mapped[str] = mapped_column(String(64))  # decided from the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    # The client's file name, sanitised: shown and offered on download, never used as a path.
    filename: Mapped[str | None] = mapped_column(String(160), default=None)
    uploaded_by: Mapped[str] = mapped_column(String(16))  # "reporter" | "agency"
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(128), default=None)
    event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
