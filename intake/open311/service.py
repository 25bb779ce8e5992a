"""Open311 operations. Never commits: the request edge does.

Filing goes through intake's ComplaintService (the same validation, idempotency and
`complaint.submitted` event as the JSON API), with the channel `open311`; this module only
translates GeoReport's arguments and answers and keeps the request's token and media URL.
"""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake.open311.errors import Open311Error
from intake.open311.mapping import (
    ATTRIBUTES,
    Draft,
    open_or_closed,
    parse_datetime,
    read_request,
    status_notes,
    statuses_of,
    w3c,
)
from intake.open311.repository import Open311Repository, RequestFilter, ServiceRow
from intake.open311.schemas import (
    SPEC_URL,
    Attribute,
    AttributeValue,
    Discovery,
    Endpoint,
    RequestCreated,
    RequestOut,
    ServiceDefinition,
    ServiceOut,
    TokenOut,
)
from intake.repository import ComplaintRepository, ReferenceRepository
from intake.schemas import ReportType
from intake.service import ComplaintService, facts
from services.domain.channels import Channel
from services.domain.lifecycle import Status
from services.models import Complaint, Open311Request
from services.principal import Principal
from services.privacy import audience_for, redact, shows_content
from services.problems import ProblemError
from services.settings import Settings

# The day this interface last changed (discovery.json's changeset).
CHANGESET = "2026-12-02T00:00:00+00:00"
# GeoReport's defaults for GET requests.json: the last 90 days, at most 1000 requests.
DEFAULT_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_IDS = 100
REPORT_TYPE_NAMES = {
    ReportType.pengaduan: ("Pengaduan", "Complaint"),
    ReportType.aspirasi: ("Aspirasi", "Aspiration"),
    ReportType.permintaan_informasi: ("Permintaan informasi", "Information request"),
}


def new_token() -> str:
    return secrets.token_hex(12)


def _storable(name: str, value: str) -> str:
    """PostgreSQL stores no NUL character: an argument holding one is a 400, not a failed query."""
    if "\x00" in value:
        raise Open311Error(400, f"{name}: may not hold the NUL character")
    return value


class Open311Service:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = Open311Repository(session)
        self.complaints = ComplaintRepository(session)
        self.reference = ReferenceRepository(session)
        self.intake = ComplaintService(session, settings)

    def discovery(self) -> Discovery:
        return Discovery(
            changeset=CHANGESET,
            contact=self.settings.open311_contact,
            key_service="An admin issues API keys (POST /api/v1/api-keys); filing without one "
            "is allowed, as on the JSON API",
            endpoints=[
                Endpoint(
                    specification=SPEC_URL,
                    url=self.settings.open311_base_url.rstrip("/"),
                    changeset=CHANGESET,
                    type="production",
                    formats=["application/json"],
                )
            ],
        )

    async def _service_rows(self) -> dict[str, ServiceRow]:
        return {row.code: row for row in await self.repo.services()}

    async def services(self, language: str) -> list[ServiceOut]:
        return [_service_out(row, language) for row in (await self._service_rows()).values()]

    async def definition(self, service_code: str, language: str) -> ServiceDefinition:
        if service_code not in await self._service_rows():
            raise Open311Error(404, f"service_code: no service {service_code[:64]!r}")
        en = language == "en"
        return ServiceDefinition(
            service_code=service_code,
            attributes=[
                Attribute(
                    variable=True,
                    code="region_code",
                    datatype="string",
                    required=False,
                    datatype_description="A Kemendagri region code, e.g. 11.01.01",
                    order=1,
                    description="The region (kelurahan/desa, kecamatan, kabupaten/kota or "
                    "province) of the problem; the same as address_id. Without it, or "
                    "address_id, an admin sets the region before the request is routed"
                    if en
                    else "Kode wilayah Kemendagri lokasi masalah (sama dengan address_id). "
                    "Tanpa kode wilayah, admin menetapkannya sebelum laporan didisposisikan",
                ),
                Attribute(
                    variable=True,
                    code="report_type",
                    datatype="singlevaluelist",
                    required=False,
                    order=2,
                    description="The kind of report (pengaduan unless given)"
                    if en
                    else "Jenis laporan (pengaduan bila tidak diisi)",
                    values=[
                        AttributeValue(key=t.value, name=REPORT_TYPE_NAMES[t][1 if en else 0])
                        for t in ReportType
                    ],
                ),
            ],
        )

    async def create(
        self, principal: Principal, form: dict[str, str], idempotency_key: str | None
    ) -> list[RequestCreated]:
        draft = read_request(form)
        await self._check_references(draft)
        try:
            submitted = await self.intake.submit(
                principal, draft.complaint(), idempotency_key, channel=Channel.open311
            )
        except ProblemError as exc:
            raise _as_open311(exc, draft) from exc
        complaint = await self.complaints.by_tracking_id(submitted.body["tracking_id"])
        assert complaint is not None  # just written, or the replayed one
        request = await self.repo.of_complaint(complaint.id) if submitted.replayed else None
        if request is None:
            request = Open311Request(
                complaint_id=complaint.id, token=new_token(), media_url=draft.media_url
            )
            await self.repo.add(request)
        notice = (
            "Diterima. Wilayah belum diketahui: admin menetapkannya sebelum laporan "
            "diteruskan ke instansi."
            if complaint.region_code is None
            else "Diterima; laporan diverifikasi lalu diteruskan ke instansi yang berwenang."
        )
        return [
            RequestCreated(
                service_request_id=complaint.tracking_id,
                token=request.token,
                service_notice=notice,
                account_id=None,
            )
        ]

    async def _check_references(self, draft: Draft) -> None:
        errors = []
        if draft.service_code not in await self._service_rows():
            errors.append(f"service_code: no service {draft.service_code!r} (see services.json)")
        if draft.region_code is not None and (
            await self.reference.region_name(draft.region_code) is None
        ):
            errors.append(f"{draft.region_argument}: no region {draft.region_code}")
        if errors:
            raise Open311Error(400, *errors)

    async def get(
        self, principal: Principal, service_request_id: str, language: str
    ) -> list[RequestOut]:
        wanted = _storable("service_request_id", service_request_id).strip().upper()
        complaints = await self.repo.by_tracking_ids([wanted])
        if not complaints:
            raise Open311Error(404, f"service_request_id: no request {service_request_id[:32]!r}")
        return await self._out(principal, complaints, language)

    async def search(
        self, principal: Principal, params: dict[str, str], language: str
    ) -> list[RequestOut]:
        for name, value in params.items():
            _storable(name, value)
        ids = params.get("service_request_id", "").strip()
        if ids:
            # The spec: with ids, the other arguments are ignored.
            wanted = {i.strip().upper() for i in ids.split(",") if i.strip()}
            if len(wanted) > MAX_IDS:
                raise Open311Error(400, f"service_request_id: at most {MAX_IDS} ids")
            return await self._out(principal, await self.repo.by_tracking_ids(wanted), language)
        now = datetime.now(UTC)
        until = parse_datetime("end_date", params["end_date"]) if params.get("end_date") else now
        since = (
            parse_datetime("start_date", params["start_date"])
            if params.get("start_date")
            else until - DEFAULT_SPAN
        )
        if since > until:
            raise Open311Error(400, "start_date: after end_date")
        if until - since > DEFAULT_SPAN:
            raise Open311Error(400, "start_date: at most 90 days before end_date")
        codes = {c.strip() for c in params.get("service_code", "").split(",") if c.strip()}
        statuses = statuses_of(params["status"]) if params.get("status") else set()
        rows = await self.repo.search(
            RequestFilter(
                since=since,
                until=until,
                service_codes=codes,
                statuses={s.value for s in statuses},
                limit=MAX_REQUESTS,
            )
        )
        return await self._out(principal, rows, language)

    async def token(self, token: str) -> list[TokenOut]:
        found = await self.repo.by_token(_storable("token", token).strip())
        if found is None:
            raise Open311Error(404, f"token: no request with token {token[:32]!r}")
        _request, tracking_id = found
        return [TokenOut(service_request_id=tracking_id, token=token.strip())]

    async def _out(
        self, principal: Principal, complaints: list[Complaint], language: str
    ) -> list[RequestOut]:
        services = await self._service_rows()
        media = await self.repo.media_urls([c.id for c in complaints])
        return [
            _request_out(c, principal, services.get(c.category_code), media.get(c.id), language)
            for c in complaints
        ]


def _service_out(row: ServiceRow, language: str) -> ServiceOut:
    en = language == "en"
    name = row.name_en if en else row.name_id
    if row.office_type:
        group = "Regional government" if en else "Pemerintah daerah"
    elif row.ministry_code:
        group = "Ministries and agencies" if en else "Kementerian/Lembaga"
    else:
        group = "General" if en else "Umum"
    return ServiceOut(
        service_code=row.code,
        service_name=name,
        description=(
            f"Complaints, aspirations and information requests about {name.lower()}"
            if en
            else f"Pengaduan, aspirasi dan permintaan informasi tentang {name.lower()}"
        ),
        metadata=bool(ATTRIBUTES),
        type="realtime",
        keywords=", ".join(row.keywords),
        group=group,
    )


def _request_out(
    complaint: Complaint,
    principal: Principal,
    service: ServiceRow | None,
    media_url: str | None,
    language: str,
) -> RequestOut:
    status = Status(complaint.status)
    audience = audience_for(principal, facts(complaint))
    view: dict[str, Any] = redact(
        {
            "description": complaint.description,
            "address": complaint.address,
            "latitude": complaint.latitude,
            "longitude": complaint.longitude,
        },
        audience,
        anonymous=complaint.anonymous,
        confidential=complaint.confidential,
    )
    agencies = [a.agency.name for a in complaint.assignments if a.active]
    name = complaint.category_code
    if service is not None:
        name = service.name_en if language == "en" else service.name_id
    return RequestOut(
        service_request_id=complaint.tracking_id,
        status=open_or_closed(status),
        status_notes=status_notes(status),
        service_name=name,
        service_code=complaint.category_code,
        description=view["description"],
        agency_responsible="; ".join(agencies) or None,
        requested_datetime=w3c(complaint.created_at),
        updated_datetime=w3c(complaint.updated_at),
        address=view["address"],
        address_id=complaint.region_code,
        lat=float(view["latitude"]) if view["latitude"] is not None else None,
        long=float(view["longitude"]) if view["longitude"] is not None else None,
        # A confidential complaint's photo is content too.
        media_url=media_url if shows_content(audience, complaint.confidential) else None,
    )


def _as_open311(exc: ProblemError, draft: Draft) -> Open311Error:
    """Intake's refusal in GeoReport's terms."""
    arguments = {
        "/region_code": draft.region_argument or "address_id",
        "/category": "service_code",
    }
    if exc.code == "forbidden":
        return Open311Error(403, f"api_key: {exc.detail or 'may not file requests'}")
    if exc.code == "idempotency_mismatch":
        return Open311Error(400, "Idempotency-Key: used before with another request")
    if exc.code == "conflict":
        return Open311Error(409, exc.detail or "a request with this Idempotency-Key is in flight")
    descriptions = [
        f"{arguments.get(pointer, pointer.lstrip('/'))}: {code}"
        for pointer, code in exc.field_errors
    ]
    return Open311Error(400, *(descriptions or [exc.detail or str(exc.code)]))
