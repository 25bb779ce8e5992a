"""Request and answer bodies of the accounts, staff and API-key routes."""

import enum
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from gateway.accounts.passwords import MIN_LENGTH

Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Name = Annotated[Text, Field(min_length=1, max_length=200, examples=["Siti Rahmawati"])]
Email = Annotated[EmailStr, Field(max_length=320, examples=["siti@example.id"])]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{8,15}$"),
    Field(description="E.164 or local digits", examples=["+6281234567890"]),
]
Password = Annotated[
    str,
    Field(
        min_length=MIN_LENGTH,
        max_length=1024,
        description=f"At least {MIN_LENGTH} characters",
        examples=["rahasia-sekali-123"],
    ),
]
RegionCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"),
    Field(examples=["11.01"]),
]
OtpCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$"),
    Field(description="The 6-digit code of the authenticator app", examples=["492039"]),
]
ACCOUNT_ID = "019ac7a4-3b9e-7c11-8d2f-5e0a1b2c3d4e"
AGENCY_ID = "6f1a3c0e-2b7d-5e8f-9a0b-1c2d3e4f5a6b"


# --- citizens and sessions --------------------------------------------------------------------


class RegisterIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Siti Rahmawati",
                    "email": "siti@example.id",
                    "phone": "+6281234567890",
                    "password": "rahasia-sekali-123",
                }
            ]
        },
    )

    name: Name
    email: Email
    phone: Phone | None = None
    password: Password


class AgencyRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(examples=[AGENCY_ID])
    code: str = Field(examples=["pemda-11.01"])
    name: str = Field(examples=["Pemerintah Kabupaten Aceh Selatan"])


class AccountOut(BaseModel):
    """An account as its owner (and, for staff, the admins managing it) sees it."""

    id: uuid.UUID = Field(examples=[ACCOUNT_ID])
    role: str = Field(description="citizen, admin, coordinator or liaison", examples=["citizen"])
    name: str = Field(examples=["Siti Rahmawati"])
    email: str = Field(examples=["siti@example.id"])
    phone: str | None = Field(examples=["+6281234567890"])
    agency: AgencyRef | None = Field(description="Staff of an agency: that agency")
    totp_enabled: bool = Field(description="Whether sign-in asks for a one-time code")
    active: bool = Field(description="A deactivated account can no longer sign in")
    created_at: datetime


class TokenOut(BaseModel):
    """RFC 6749 §5.1 access token answer."""

    access_token: str = Field(
        description="A JWT; send it as `Authorization: Bearer <token>`",
        examples=["eyJhbGciOiJIUzI1NiIsImtpZCI6IjIwMjYtMTEiLCJ0eXAiOiJKV1QifQ.e30.c2ln"],
    )
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid", examples=[900])
    refresh_token: str = Field(
        description="Opaque; trade it once at /api/v1/auth/refresh for a new pair",
        examples=["q8Jm0n1r2XbY3p4Zc5s6Ad7t8Be9u0Cf1v2Dg3w4Eh5"],
    )


class TokenForm(BaseModel):
    """The form of POST /api/v1/auth/token (application/x-www-form-urlencoded)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "grant_type": "password",
                    "username": "siti@example.id",
                    "password": "rahasia-sekali-123",
                }
            ]
        },
    )

    grant_type: Literal["password", "refresh_token"] = Field(
        description="`password` to sign in; `refresh_token` does what /auth/refresh does"
    )
    username: str | None = Field(
        default=None, max_length=320, description="The account's email (grant_type=password)"
    )
    password: str | None = Field(default=None, max_length=1024)
    otp: str | None = Field(
        default=None,
        max_length=16,
        description="The 6-digit one-time code, for accounts with a second factor",
    )
    refresh_token: str | None = Field(
        default=None, max_length=200, description="grant_type=refresh_token only"
    )
    scope: str | None = Field(default=None, max_length=200, description="Ignored")


class RefreshIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"refresh_token": "q8Jm0n1r2XbY3p4Zc5s6Ad7t8Be9u0Cf1v"}]},
    )

    refresh_token: str = Field(min_length=1, max_length=200)


class TotpEnrolmentOut(BaseModel):
    secret: str = Field(
        description="Base32 secret, for typing into an authenticator app",
        examples=["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"],
    )
    otpauth_uri: str = Field(
        description="The same as an otpauth:// URI, usually shown as a QR code",
        examples=[
            "otpauth://totp/Aduan:siti%40example.id?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
            "&issuer=Aduan"
        ],
    )


class TotpConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "492039"}]})

    code: OtpCode


# --- staff --------------------------------------------------------------------------------------


class StaffRole(enum.StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    liaison = "liaison"


class StaffIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Budi Santoso",
                    "email": "budi@acehselatankab.go.id",
                    "phone": "+6281299990000",
                    "password": "awal-yang-panjang-1",
                    "role": "coordinator",
                    "agency_id": AGENCY_ID,
                }
            ]
        },
    )

    name: Name
    email: Email
    phone: Phone | None = None
    password: Password = Field(description="The first password; hand it over in person")
    role: StaffRole = Field(
        description="`admin` (national), `coordinator` (an agency's admin koordinator) or "
        "`liaison` (an office's admin penghubung)"
    )
    agency_id: uuid.UUID | None = Field(
        default=None,
        description="Required for coordinators and liaisons, absent for admins",
        examples=[AGENCY_ID],
    )


class StaffOut(AccountOut):
    created_by: str | None = Field(
        description="Who created the account", examples=["admin:019ac7a4-3b9e-7c11-8d2f"]
    )


class StaffCreated(StaffOut):
    totp: TotpEnrolmentOut | None = Field(
        default=None,
        description="When national admins must use TOTP (ADUAN_ADMIN_TOTP_REQUIRED): the secret "
        "to enrol, shown once. The first sign-in with a valid `otp` switches it on.",
    )


class StaffPage(BaseModel):
    items: list[StaffOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page"
    )


# --- API keys -----------------------------------------------------------------------------------


class ApiKeyRole(enum.StrEnum):
    agency = "agency"
    regional_system = "regional_system"
    ops = "ops"
    admin = "admin"


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "SP4N Aceh Selatan", "role": "regional_system", "region_codes": ["11.01"]},
                {"name": "Dinas PU Aceh", "role": "agency", "agency_id": AGENCY_ID},
            ]
        },
    )

    name: Name
    role: ApiKeyRole = Field(
        description="`agency` (bound to `agency_id`), `regional_system` (bound to "
        "`region_codes`), `ops` (read-only, no personal data) or `admin`"
    )
    agency_id: uuid.UUID | None = Field(default=None, description="Required for role `agency`")
    region_codes: list[RegionCode] = Field(
        default_factory=list,
        max_length=100,
        description="Required for role `regional_system`: the Kemendagri codes it answers for "
        "(a code covers every region below it)",
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(examples=[ACCOUNT_ID])
    name: str = Field(examples=["SP4N Aceh Selatan"])
    prefix: str = Field(
        description="The visible part of the key (`adn_<prefix>_…`)", examples=["k3qx9p2m"]
    )
    role: str = Field(examples=["regional_system"])
    agency_id: uuid.UUID | None = None
    region_codes: list[str] = Field(examples=[["11.01"]])
    created_by: str = Field(examples=["admin:bootstrap"])
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="Last request with this key (updated at most once a minute)"
    )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(
        description="The whole key, shown only in this answer: `Authorization: Bearer <key>`",
        examples=["adn_k3qx9p2m_Yc2Jf0n1r2XbY3p4Zc5s6Ad7t8Be9u0Cf1v2Dg3w4Eh"],
    )
