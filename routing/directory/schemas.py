"""The directory's bodies and answers: agencies, categories with their policy, disposition rules."""

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from routing.directory.codes import AGENCY_CODE_PATTERN, OFFICE_TYPE_PATTERN
from services.models import TargetLevel

Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Name = Annotated[Text, Field(min_length=2, max_length=255)]
AgencyCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=AGENCY_CODE_PATTERN, max_length=64)
]
OfficeType = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=OFFICE_TYPE_PATTERN, max_length=40)
]
CategoryCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
]
RegionCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
]
Keyword = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9-]{2,64}$")
]
AgencyKindName = Literal["ministry", "province", "regency", "opd"]
TimeZone = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]
ReportTypeName = Literal["pengaduan", "aspirasi", "permintaan_informasi"]
Verification = Literal["auto", "manual"]


class AgencyContacts(BaseModel):
    """How the public and the platform reach an agency's complaint desk. The seed leaves them
    empty: admins fill them in (no invented addresses)."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = Field(
        default=None, max_length=320, examples=["pengaduan@acehselatankab.go.id"]
    )
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{6,15}$")] | None = Field(
        default=None, examples=["+62656123456"]
    )
    website: Annotated[str, StringConstraints(pattern=r"^https://\S+$", max_length=200)] | None = (
        Field(default=None, examples=["https://acehselatankab.go.id"])
    )
    address: Annotated[Text, Field(max_length=300)] | None = Field(
        default=None, examples=["Jl. T. Ben Mahmud No. 1, Tapaktuan"]
    )


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str = Field(examples=["pemda-11.01.dinas-pupr"])
    name: str = Field(examples=["Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Aceh Selatan"])
    kind: str = Field(examples=["opd"], description="ministry, province, regency or opd")
    region_code: str | None = Field(examples=["11.01"])
    parent_id: uuid.UUID | None = Field(description="The agency above it (escalation goes there)")
    timezone: str = Field(examples=["Asia/Jakarta"], description="Where its working days count")
    office_type: str | None = Field(
        default=None, examples=["dinas_pupr"], description="An office's (OPD's) type"
    )
    contacts: AgencyContacts = Field(default_factory=AgencyContacts)
    active: bool = Field(default=True, description="An inactive agency receives no new complaints")


class AgencyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "pemda-11.01.dinas-perhubungan",
                    "name": "Dinas Perhubungan Kabupaten Aceh Selatan",
                    "kind": "opd",
                    "region_code": "11.01",
                    "parent_id": "5d0d5fa0-14a5-5bb4-9b3c-3a4e4d5cfa41",
                    "office_type": "dinas_perhubungan",
                    "contacts": {"email": "dishub@acehselatankab.go.id"},
                }
            ]
        },
    )

    code: AgencyCode = Field(
        description="Lower case: `<government code>.<office type with ->` for an office "
        "(`pemda-11.01.dinas-pupr`), `pemprov-<province>`, `pemda-<kabupaten/kota>`, or a "
        "ministry's short name. The agency's id is derived from it."
    )
    name: Name
    kind: AgencyKindName
    region_code: RegionCode | None = Field(
        default=None, description="Required except for a ministry; a seeded region code"
    )
    parent_id: uuid.UUID | None = None
    office_type: OfficeType | None = Field(default=None, description="Required for an office")
    timezone: TimeZone | None = Field(
        default=None, description="Defaults to the time zone of the region's province"
    )
    contacts: AgencyContacts = Field(default_factory=AgencyContacts)


class AgencyUpdate(BaseModel):
    """Only the fields sent change. The seed resets the name, parent, time zone and office type of
    the agencies it creates (`aduan seed`); contacts and `active` are the admins' alone."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "contacts": {
                        "email": "pengaduan@pupr.acehselatankab.go.id",
                        "phone": "+62656123456",
                    }
                }
            ]
        },
    )

    name: Name | None = None
    parent_id: uuid.UUID | None = None
    office_type: OfficeType | None = None
    timezone: TimeZone | None = None
    contacts: AgencyContacts | None = None
    active: bool | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["infrastruktur"])
    name_id: str = Field(examples=["Infrastruktur"])
    name_en: str = Field(examples=["Infrastructure"])
    active: bool
    office_type: str | None = Field(
        examples=["dinas_pupr"], description="The office type that handles it in a region"
    )
    ministry_code: str | None = Field(examples=["kemenpu"], description="Its ministry (K/L)")
    verification: str = Field(
        examples=["auto"], description="`auto` (verified when complete and unflagged) or `manual`"
    )
    keywords: list[str] = Field(
        examples=[["jalan", "lubang", "jembatan"]],
        description="Stemmed Indonesian words that classify an uncategorised complaint here",
    )
    completion_days: int | None = Field(
        examples=[None], description="Completion deadline in working days (null: by report type)"
    )


class CategoryCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "transportasi",
                    "name_id": "Transportasi",
                    "name_en": "Transport",
                    "office_type": "dinas_perhubungan",
                    "verification": "auto",
                    "keywords": ["angkutan", "bus", "terminal", "ojek"],
                    "completion_days": 10,
                }
            ]
        },
    )

    code: CategoryCode
    name_id: Name
    name_en: Name
    office_type: OfficeType | None = None
    ministry_code: AgencyCode | None = Field(default=None, description="A ministry's agency code")
    verification: Verification = "auto"
    keywords: list[Keyword] = Field(
        default_factory=list,
        max_length=50,
        description="Stored stemmed (PySastrawi), as the classifier compares stems",
    )
    completion_days: int | None = Field(default=None, ge=1, le=365)
    active: bool = True


class CategoryUpdate(BaseModel):
    """Only the fields sent change; `null` clears office type, ministry or completion days."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"verification": "manual", "completion_days": 30}]},
    )

    name_id: Name | None = None
    name_en: Name | None = None
    office_type: OfficeType | None = None
    ministry_code: AgencyCode | None = None
    verification: Verification | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=50)
    completion_days: int | None = Field(default=None, ge=1, le=365)
    active: bool | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    category_code: str = Field(examples=["infrastruktur"])
    report_type: str | None = Field(examples=[None])
    region_prefix: str | None = Field(examples=["11.01"])
    target_level: str = Field(examples=["opd"])
    office_type: str | None = Field(examples=["dinas_pupr"])
    agency_id: uuid.UUID | None
    priority: int = Field(examples=[100])
    active: bool
    description: str | None = Field(examples=["bawaan: Dinas PUPR setempat"])


RULE_LEVELS = (
    "`opd`: the office of `office_type` under the complaint's kabupaten/kota government (under "
    "the province government for a province-level complaint); `regency`: that government "
    "(the province's for a province-level complaint); `province`: the province government; "
    "`ministry`: `agency_id`, else the category's ministry; `agency`: exactly `agency_id`."
)


class RuleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "category_code": "infrastruktur",
                    "region_prefix": "31",
                    "target_level": "province",
                    "priority": 50,
                    "description": "DKI Jakarta: jalan ditangani Pemprov",
                }
            ]
        },
    )

    category_code: CategoryCode
    report_type: ReportTypeName | None = None
    region_prefix: RegionCode | None = Field(
        default=None, description="Only complaints in this region (the longest prefix wins)"
    )
    target_level: TargetLevel = Field(description=RULE_LEVELS)
    office_type: OfficeType | None = Field(default=None, description="Required for `opd`")
    agency_id: uuid.UUID | None = Field(default=None, description="Required for `agency`")
    priority: int = Field(default=100, ge=0, le=10_000, description="Lower wins")
    active: bool = True
    description: Annotated[Text, Field(max_length=300)] | None = None


class RuleUpdate(BaseModel):
    """Only the fields sent change; `null` clears the optional ones."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"priority": 10, "active": False}]}
    )

    report_type: ReportTypeName | None = None
    region_prefix: RegionCode | None = None
    target_level: TargetLevel | None = Field(default=None, description=RULE_LEVELS)
    office_type: OfficeType | None = None
    agency_id: uuid.UUID | None = None
    priority: int | None = Field(default=None, ge=0, le=10_000)
    active: bool | None = None
    description: Annotated[Text, Field(max_length=300)] | None = None
