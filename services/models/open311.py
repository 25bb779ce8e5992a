"""What Open311 GeoReport v2 adds to a complaint filed through it (intake/open311/)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class Open311Request(Base):
    """A complaint filed as a GeoReport service request: its token and its media URL."""

    __tablename__ = "open311_requests"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    # GeoReport's `token`: `tokens/{token}.json` answers the request's id (the tracking id).
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # A photo the client hosts itself (GeoReport's `media_url`): shown back, never fetched.
    media_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
