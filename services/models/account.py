"""Accounts and credentials; owned by the gateway, where authentication happens."""

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, TimestampMixin


class Account(TimestampMixin, Base):
    """A citizen or a staff member (national admin, agency coordinator, office liaison)."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20))  # services.principal.Role
    name: Mapped[str] = mapped_column(String(200))
    # Stored lower-cased, so the unique index is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id"), index=True, default=None
    )
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    # A secret without this is a pending enrolment: the second factor is on once a code of the
    # secret was checked.
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The time step of the last accepted code: each code is accepted once (RFC 6238 §5.2).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(String(128), default=None)


class RefreshToken(TimestampMixin, Base):
    """One opaque refresh token (only its hash). Each use spends it and issues the next one in
    the same family; presenting a spent one revokes the family (it was stolen or replayed)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiKey(TimestampMixin, Base):
    """A system's key `adn_<prefix>_<secret>`: the prefix finds the row, the hash proves it."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # agency, regional_system, ops or admin
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), default=None)
    region_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(16)), default=list, server_default=text("'{}'")
    )
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
