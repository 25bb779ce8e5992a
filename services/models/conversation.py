"""The conversation around a complaint that is not the timeline itself: who follows it.
Owned by intake (comments, replies and ratings are events: services/models/event.py)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class ComplaintFollower(Base):
    """A citizen account that follows a complaint it did not file (and so gets its
    notifications); one row per (complaint, account)."""

    __tablename__ = "complaint_followers"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    # The gateway's account id (no foreign key: accounts are the gateway's, as for
    # complaints.reporter_account_id).
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
