"""The request body of the baselines: the shape of a complaint create, validated by pydantic."""

import datetime as dt

from pydantic import BaseModel, Field


class Reporter(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)


class ComplaintIn(BaseModel):
    report_type: str = Field(max_length=32)
    title: str = Field(min_length=5, max_length=200)
    description: str = Field(min_length=10, max_length=10_000)
    category: str = Field(max_length=64)
    region_code: str = Field(max_length=16)
    occurred_on: dt.date | None = None
    reporter: Reporter | None = None
    anonymous: bool = False
    confidential: bool = False
