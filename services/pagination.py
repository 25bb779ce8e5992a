"""Cursor pagination: opaque cursors over a stable sort key."""

import base64
import binascii
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from services.problems import ProblemError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page"
    )


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc
    if not key:
        raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")])
    return key
