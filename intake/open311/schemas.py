"""GeoReport v2's answers, field for field as the spec names them (JSON format)."""

from pydantic import BaseModel, Field

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"


class Endpoint(BaseModel):
    specification: str = Field(examples=[SPEC_URL])
    url: str = Field(examples=["https://aduan.go.id/open311/v2"])
    changeset: str = Field(examples=["2026-12-02T00:00:00+00:00"])
    type: str = Field(examples=["production"])
    formats: list[str] = Field(examples=[["application/json"]])


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str = Field(description="Where a client gets an api_key")
    endpoints: list[Endpoint]


class ServiceOut(BaseModel):
    service_code: str = Field(examples=["infrastruktur"])
    service_name: str = Field(examples=["Infrastruktur"])
    description: str
    metadata: bool = Field(
        description="true: `services/{service_code}.json` defines attributes (every service "
        "has `region_code` and `report_type`)"
    )
    type: str = Field(examples=["realtime"])
    keywords: str = Field(examples=["jalan, jembatan, lubang"])
    group: str = Field(examples=["Pemerintah daerah"])


class AttributeValue(BaseModel):
    key: str = Field(examples=["pengaduan"])
    name: str = Field(examples=["Pengaduan"])


class Attribute(BaseModel):
    variable: bool = Field(description="true: the client sends it as `attribute[code]`")
    code: str = Field(examples=["region_code"])
    datatype: str = Field(examples=["string", "singlevaluelist"])
    required: bool
    datatype_description: str | None = None
    order: int
    description: str
    values: list[AttributeValue] | None = None


class ServiceDefinition(BaseModel):
    service_code: str = Field(examples=["infrastruktur"])
    attributes: list[Attribute]


class RequestCreated(BaseModel):
    service_request_id: str = Field(
        examples=["ADN-7K3QX9P2"], description="The complaint's tracking id"
    )
    token: str = Field(
        examples=["4f0d1c2b9a8e7f6d5c4b3a29"],
        description="Also answers `tokens/{token}.json` with the service_request_id",
    )
    service_notice: str | None = None
    account_id: str | None = None


class RequestOut(BaseModel):
    service_request_id: str = Field(examples=["ADN-7K3QX9P2"])
    status: str = Field(examples=["open"], description="`open`, or `closed` once finished")
    status_notes: str = Field(
        examples=["dispositioned: Terdisposisi"],
        description="The Aduan status and its Indonesian label",
    )
    service_name: str = Field(examples=["Infrastruktur"])
    service_code: str = Field(examples=["infrastruktur"])
    description: str | None = Field(
        description="null for a confidential complaint the caller may not read"
    )
    agency_responsible: str | None = Field(
        examples=["Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Aceh Selatan"],
        description="The agencies handling it now (`; ` between several), null before disposition",
    )
    service_notice: str | None = None
    requested_datetime: str = Field(examples=["2026-12-02T10:15:00+07:00"])
    updated_datetime: str = Field(examples=["2026-12-02T11:00:00+07:00"])
    expected_datetime: str | None = None
    address: str | None = None
    address_id: str | None = Field(
        examples=["11.01.01"], description="The Kemendagri region code (null: not set yet)"
    )
    zipcode: str | None = None
    lat: float | None = Field(default=None, examples=[-3.2])
    long: float | None = Field(default=None, examples=[97.4])
    media_url: str | None = None


class TokenOut(BaseModel):
    service_request_id: str | None = Field(examples=["ADN-7K3QX9P2"])
    token: str
