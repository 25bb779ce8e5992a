"""Reference data seeded from the Kemendagri region codes; every service reads, seed writes."""

import enum
import uuid
from typing import Any

from sqlalchemy import ARRAY, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class RegionLevel(enum.StrEnum):
    province = "provinsi"
    regency = "kabupaten_kota"
    district = "kecamatan"
    village = "desa_kelurahan"


class Region(Base):
    __tablename__ = "regions"
    # The statistics list every province or kabupaten/kota per call: ~550 of 91,599 rows.
    __table_args__ = (Index("ix_regions_level_code", "level", "code"),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), index=True, default=None
    )
    population: Mapped[int | None] = mapped_column(default=None)


class Category(Base):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Which office of a regional government handles it (an OPD type such as "dinas_pupr"), and
    # the ministry (K/L) it points to when no regional office is responsible.
    office_type: Mapped[str | None] = mapped_column(String(40), default=None)
    ministry_code: Mapped[str | None] = mapped_column(String(64), default=None)
    # "auto": verified when complete and not flagged; "manual": always the admins' queue.
    verification: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
    # Words (Indonesian, stemmed) that classify an uncategorised complaint into this category.
    keywords: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), default=list, server_default=text("'{}'")
    )
    # Overrides of the completion clock in working days (None: by report type).
    completion_days: Mapped[int | None] = mapped_column(default=None)


class AgencyKind(enum.StrEnum):
    ministry = "ministry"
    province = "province"
    regency = "regency"
    opd = "opd"


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(40))
    # For an OPD: its type ("dinas_pupr", "dinas_kesehatan", ...), what disposition rules name.
    office_type: Mapped[str | None] = mapped_column(String(40), default=None)
    contacts: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
