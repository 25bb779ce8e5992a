"""The dry-run of the disposition engine."""

import uuid

from pydantic import BaseModel, ConfigDict, Field


class DryRunIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"report_type": "pengaduan", "category": "infrastruktur", "region_code": "11.01.01"}
            ]
        },
    )

    report_type: str = Field(
        default="pengaduan",
        pattern=r"^(pengaduan|aspirasi|permintaan_informasi)$",
        examples=["pengaduan"],
    )
    category: str = Field(max_length=64, examples=["infrastruktur"])
    region_code: str = Field(
        max_length=16, pattern=r"^\d{2}(\.\d{2}){0,2}(\.\d{4})?$", examples=["11.01.01"]
    )
    target_agency_id: uuid.UUID | None = Field(
        default=None, description="The agency a reporter asked for (honoured when it covers)"
    )


class AgencyBrief(BaseModel):
    id: uuid.UUID
    code: str = Field(examples=["pemda-11.01"])
    name: str = Field(examples=["Pemerintah Kabupaten Aceh Selatan"])
    kind: str = Field(examples=["regency"])


class RuleBrief(BaseModel):
    id: uuid.UUID
    category: str = Field(examples=["infrastruktur"])
    report_type: str | None = None
    region_prefix: str | None = Field(default=None, examples=["11"])
    target_level: str = Field(examples=["opd"])
    office_type: str | None = Field(default=None, examples=["dinas_pupr"])
    agency_id: uuid.UUID | None = None
    priority: int = Field(examples=[100])
    description: str | None = None


class CandidateOut(BaseModel):
    agency: AgencyBrief
    rule: RuleBrief | None = Field(description="The rule that names it; null for a default")
    chosen_by: str = Field(
        examples=["rule"],
        description="rule, target_agency (the reporter's choice) or default (the fallback "
        "chain: the category's office, the kabupaten/kota, the province, the ministry)",
    )


class DryRunOut(BaseModel):
    agency: AgencyBrief
    rule: RuleBrief | None
    chosen_by: str = Field(examples=["rule"])
    candidates: list[CandidateOut] = Field(
        description="Every agency that could take it, in order; the first is the chosen one, "
        "the next is where a return (bukan wewenang) would go"
    )
