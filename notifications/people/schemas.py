"""Bodies of an account's notification preferences."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from notifications.people.domain import Language

PushToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]
MAX_PUSH_TOKENS = 10

EXAMPLE: dict[str, Any] = {
    "language": "id",
    "email": True,
    "push": True,
    "sms": False,
    "push_tokens": ["fcm-registration-token-of-the-phone"],
    "daily_digest": False,
}


class PreferencesIn(BaseModel):
    """The whole set (PUT replaces it): a field left out takes its default."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    language: Language = Field(
        default=Language.id, description="`id` (Bahasa Indonesia) or `en` (English)"
    )
    email: bool = Field(default=True, description="Emails to the account's address")
    push: bool = Field(default=True, description="Push notifications to `push_tokens`")
    sms: bool = Field(default=False, description="SMS to the account's phone number")
    push_tokens: list[PushToken] = Field(
        default_factory=list,
        max_length=MAX_PUSH_TOKENS,
        description="FCM registration tokens of the account's devices (at most 10)",
    )
    daily_digest: bool = Field(
        default=False,
        description="Agency staff only: a morning email of what is due within 2 working days",
    )


class PreferencesOut(PreferencesIn):
    model_config = ConfigDict(
        json_schema_extra={"examples": [EXAMPLE | {"updated_at": "2026-12-02T03:15:00Z"}]}
    )

    updated_at: datetime | None = Field(
        description="When they were last set; null: never set (these are the defaults)"
    )
