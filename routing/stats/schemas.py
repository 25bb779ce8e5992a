"""The statistics API's answers (shapes the /ops dashboard reads; examples in OpenAPI)."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

Level = Literal["province", "regency"]

MEASURE_EXAMPLE: dict[str, Any] = {
    "value": 82.5,
    "numerator": 33,
    "denominator": 40,
    "small": False,
}


class MeasureOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [MEASURE_EXAMPLE]})

    value: float | None = Field(
        description="The measure (a percentage for rates, working days for durations, an "
        "average for the rating); null when there is nothing to measure"
    )
    numerator: int | None = Field(default=None, description="What was counted, for rates")
    denominator: int | None = Field(
        default=None, description="Out of how many (the base the `small` flag looks at)"
    )
    small: bool = Field(
        description="Fewer than `min_count` complaints behind it: shown, not graded"
    )


class Counts(BaseModel):
    status: dict[str, int] = Field(examples=[{"resolved": 30, "in_progress": 8}])
    report_type: dict[str, int] = Field(examples=[{"pengaduan": 35, "aspirasi": 5}])
    channel: dict[str, int] = Field(examples=[{"mobile": 28, "web": 12, "regional_system": 3}])
    category: dict[str, int] = Field(examples=[{"infrastruktur": 25, "kesehatan": 15}])


class Period(BaseModel):
    from_: date = Field(alias="from", description="First day asked for")
    to: date
    first_week: date = Field(description="Monday of the first week counted (weeks are whole)")
    last_week: date = Field(description="Monday of the last week counted")
    category: str | None = None
    min_count: int = Field(description="Least count behind a graded measure")

    model_config = ConfigDict(populate_by_name=True)


class RegionStats(BaseModel):
    code: str = Field(examples=["11.01"])
    name: str = Field(examples=["KAB. ACEH SELATAN"])
    level: Level
    population: int | None = Field(examples=[244_000])
    measures: dict[str, MeasureOut] = Field(
        description="Every measure by name (see the operation's description)",
        examples=[{"complaints": {**MEASURE_EXAMPLE, "value": 40.0}}],
    )
    counts: Counts


class RegionsOut(BaseModel):
    level: Level
    period: Period
    refreshed_through: datetime | None = Field(
        description="The statistics include every event up to about this time"
    )
    items: list[RegionStats]


class AgencyStats(BaseModel):
    agency_id: uuid.UUID
    code: str = Field(examples=["pemda-11.01"])
    name: str = Field(examples=["Pemerintah Kabupaten Aceh Selatan"])
    kind: str = Field(examples=["regency"])
    period: Period
    refreshed_through: datetime | None
    measures: dict[str, MeasureOut]
    counts: Counts


class LossOut(BaseModel):
    measure: str = Field(examples=["completion_compliance"])
    value: float = Field(examples=[52.0])
    score: float = Field(description="The measure as 0-100", examples=[52.0])
    weight: float = Field(examples=[3])
    points_lost: float = Field(
        description="Weight share × (100 - score): how much it pulled the score down",
        examples=[16.0],
    )


class RankingItem(BaseModel):
    rank: int | None = Field(description="1 is best; null when not graded", examples=[1])
    code: str = Field(examples=["11"])
    name: str = Field(examples=["ACEH"])
    grade: Literal["Sangat Baik", "Baik", "Sedang", "Kurang"] | None = Field(
        description="Null when every graded measure is small (too few complaints)"
    )
    score: float | None = Field(examples=[71.4])
    reason: str = Field(
        examples=[
            "Sedang: score 63.2, 6.8 below Baik; completion_compliance (52.0) pulled it "
            "down most, by 16.0 points"
        ]
    )
    losses: list[LossOut] = Field(description="Every graded measure's loss, largest first")
    excluded: list[str] = Field(description="Measures left out: small or empty")
    measures: dict[str, MeasureOut]


class RankingOut(BaseModel):
    level: Level
    period: Period
    thresholds: dict[str, float] = Field(examples=[{"Sangat Baik": 85, "Baik": 70, "Sedang": 55}])
    weights: dict[str, float] = Field(examples=[{"completion_compliance": 3}])
    items: list[RankingItem]


class TrendPoint(BaseModel):
    week: date = Field(description="Monday of the week (WIB)")
    value: float | None
    numerator: int | None = None
    denominator: int | None = None
    small: bool


class TrendOut(BaseModel):
    measure: str = Field(examples=["completion_compliance"])
    region: str | None = Field(examples=["11"])
    period: Period
    points: list[TrendPoint]


def _dump_model(value: object) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(frozen=True)
class Body:
    """An answer as plain data, serialised without validating it first: the kabupaten/kota
    listings hold ~13,000 measures, and pydantic's validation of them cost more than computing
    them. The bytes are the ones the route's response_model (`RegionsOut`, `RankingOut`: the
    OpenAPI document's) would write (tests/routing/stats/test_bodies.py)."""

    data: dict[str, Any]

    def json(self) -> bytes:
        # OPT_UTC_Z: UTC times end in "Z", as pydantic writes them.
        return orjson.dumps(self.data, default=_dump_model, option=orjson.OPT_UTC_Z)
