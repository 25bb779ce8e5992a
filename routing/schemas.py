import uuid

from pydantic import BaseModel, ConfigDict, Field


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str = Field(examples=["pemda-11.01"])
    name: str = Field(examples=["Pemerintah Kabupaten Aceh Selatan"])
    kind: str = Field(examples=["regency"], description="ministry, province, regency or opd")
    region_code: str | None = Field(examples=["11.01"])
    parent_id: uuid.UUID | None
    timezone: str = Field(examples=["Asia/Jakarta"])
