from datetime import datetime
from typing import Any

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class IdempotencyRecord(Base):
    """A create's answer, kept so a retried request with the same key gets the same answer."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[dict[str, Any]]
    # Kept 24 hours (a retry comes within minutes); the relay cron deletes older ones.
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
