"""Open311 GeoReport v2 routes under /open311/v2 (JSON only): thin, they parse, call the
service, and answer the spec's shapes; errors are the spec's list (intake/open311/errors.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from intake.open311.errors import OPEN311_PREFIX, Open311Error, error_responses
from intake.open311.mapping import parse_form
from intake.open311.schemas import (
    Discovery,
    RequestCreated,
    RequestOut,
    ServiceDefinition,
    ServiceOut,
    TokenOut,
)
from intake.open311.service import Open311Service
from services.deps import PrincipalDep, SessionDep, SettingsDep
from services.policy import Permission, allows
from services.principal import Principal
from services.problems import language

router = APIRouter(prefix=OPEN311_PREFIX, tags=["open311"])
FORM = "application/x-www-form-urlencoded"


def open311_requires(permission: Permission) -> Any:
    """`Requires` with GeoReport's answer: a caller whose role may not is a 403 list."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not allows(principal, permission):
            raise Open311Error(403, f"api_key: the role {principal.role} may not do this")
        return principal

    dependency.__name__ = f"requires_{permission.name}"
    return Depends(dependency)


async def get_open311_service(session: SessionDep, settings: SettingsDep) -> Open311Service:
    return Open311Service(session, settings)


ServiceDep = Annotated[Open311Service, Depends(get_open311_service)]
Reader = Annotated[Principal, open311_requires(Permission.complaint_read)]
ReferenceReader = Annotated[Principal, open311_requires(Permission.reference_read)]
Filer = Annotated[Principal, open311_requires(Permission.complaint_create)]
API_KEY_NOTE = (
    " `api_key` (query or form) is an Aduan API key or access token, exactly as sent in "
    "`Authorization: Bearer` elsewhere; a wrong one is a 403."
)


@router.get(
    "/discovery.json",
    response_model=Discovery,
    summary="Open311 discovery",
    description="GeoReport v2 service discovery: the endpoint's URL (`ADUAN_OPEN311_BASE_URL`), "
    "the specification it implements, its formats (JSON only) and who runs it.",
)
async def discovery(_: ReferenceReader, service: ServiceDep) -> Discovery:
    return service.discovery()


@router.get(
    "/services.json",
    response_model=list[ServiceOut],
    summary="Open311 service list",
    description="GeoReport v2 services: Aduan's complaint categories (`service_code` is the "
    "category code), named in Indonesian or English by Accept-Language, with their keywords "
    "and group. Every service has metadata: `region_code` and `report_type` attributes."
    + API_KEY_NOTE,
    responses=error_responses(403),
)
async def list_services(
    request: Request, _: ReferenceReader, service: ServiceDep
) -> list[ServiceOut]:
    return await service.services(language(request))


@router.get(
    "/services/{service_code}.json",
    response_model=ServiceDefinition,
    summary="Open311 service definition",
    description="The attributes a request of this service may carry: `attribute[region_code]` "
    "(a Kemendagri code: the region, like `address_id`) and `attribute[report_type]` "
    "(pengaduan, aspirasi, permintaan_informasi; pengaduan when absent)." + API_KEY_NOTE,
    responses=error_responses(403, 404),
)
async def service_definition(
    request: Request,
    service_code: Annotated[str, Path(examples=["infrastruktur"])],
    _: ReferenceReader,
    service: ServiceDep,
) -> ServiceDefinition:
    return await service.definition(service_code, language(request))


@router.post(
    "/requests.json",
    response_model=list[RequestCreated],
    summary="Open311: file a service request",
    description="Files a complaint from a form-encoded GeoReport request (channel `open311`): "
    "`service_code` (a category), a location — `lat` and `long` inside Indonesia, "
    "`address_string`, `address_id` (a Kemendagri region code) or `attribute[region_code]` —, "
    "`description` (20–4000 characters), optionally `email`, `first_name`, `last_name`, "
    "`phone`, `media_url` (an http(s) URL of a photo the client hosts) and "
    "`attribute[report_type]`. The answer (200, a list of one) holds the "
    "`service_request_id` (the tracking id) and a `token` for `tokens/{token}.json`. A request "
    "without a region (coordinates or an address only) is filed and waits in the verification "
    "queue until an admin sets its region. Filing needs no api_key (as on the JSON API); a "
    "regional system's key files only in its regions and needs the region. `Idempotency-Key` "
    "works as on `POST /api/v1/complaints`. Every invalid argument is a 400 list naming it, and "
    "nothing is written." + API_KEY_NOTE,
    responses=error_responses(400, 403, 409),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["service_code", "description"],
                        "properties": {
                            "api_key": {"type": "string"},
                            "service_code": {"type": "string", "example": "infrastruktur"},
                            "lat": {"type": "number", "example": -3.2},
                            "long": {"type": "number", "example": 97.4},
                            "address_string": {"type": "string", "maxLength": 500},
                            "address_id": {"type": "string", "example": "11.01.01"},
                            "attribute[region_code]": {"type": "string", "example": "11.01.01"},
                            "attribute[report_type]": {
                                "type": "string",
                                "enum": ["pengaduan", "aspirasi", "permintaan_informasi"],
                            },
                            "description": {"type": "string", "minLength": 20, "maxLength": 4000},
                            "email": {"type": "string", "format": "email"},
                            "first_name": {"type": "string", "maxLength": 100},
                            "last_name": {"type": "string", "maxLength": 100},
                            "phone": {"type": "string", "example": "+6281234567890"},
                            "media_url": {"type": "string", "format": "uri"},
                        },
                    },
                    "example": {
                        "service_code": "infrastruktur",
                        "lat": "-3.2",
                        "long": "97.4",
                        "address_id": "11.01.01",
                        "description": "Jalan utama di depan pasar berlubang besar sejak dua "
                        "bulan dan membahayakan pengendara motor.",
                        "email": "siti@example.id",
                        "first_name": "Siti",
                    },
                }
            },
        }
    },
)
async def create_request(
    request: Request,
    principal: Filer,
    service: ServiceDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Client-chosen unique key for this create"),
    ] = None,
) -> list[RequestCreated]:
    form = parse_form(await request.body(), request.headers.get("content-type", ""))
    if idempotency_key is not None and len(idempotency_key) > 255:
        raise Open311Error(400, "Idempotency-Key: at most 255 characters")
    return await service.create(principal, form, idempotency_key)


@router.get(
    "/requests.json",
    response_model=list[RequestOut],
    summary="Open311: list service requests",
    description="Requests newest first, at most 1000, filed between `start_date` and "
    "`end_date` (W3C date-times at most 90 days apart; by default the last 90 days), of the "
    "given `service_code`s and `status` (`open`, `closed`). With `service_request_id` "
    "(comma-separated tracking ids, at most 100) only those, the other arguments ignored. "
    "`status` is `closed` for resolved, archived and duplicate complaints, `open` otherwise; "
    "`status_notes` holds the Aduan status. Confidential complaints are never listed (by id "
    "their content is withheld as the privacy rules say); no reporter's identity is shown.",
    responses=error_responses(400, 403),
)
async def list_requests(
    request: Request,
    principal: Reader,
    service: ServiceDep,
    service_request_id: Annotated[str | None, Query(examples=["ADN-7K3QX9P2"])] = None,
    service_code: Annotated[str | None, Query(examples=["infrastruktur,kesehatan"])] = None,
    start_date: Annotated[str | None, Query(examples=["2026-11-01T00:00:00+07:00"])] = None,
    end_date: Annotated[str | None, Query(examples=["2026-12-01T00:00:00+07:00"])] = None,
    status: Annotated[str | None, Query(examples=["open"])] = None,
) -> list[RequestOut]:
    params = {
        name: value
        for name, value in (
            ("service_request_id", service_request_id),
            ("service_code", service_code),
            ("start_date", start_date),
            ("end_date", end_date),
            ("status", status),
        )
        if value
    }
    return await service.search(principal, params, language(request))


@router.get(
    "/requests/{service_request_id}.json",
    response_model=list[RequestOut],
    summary="Open311: one service request",
    description="The request (a list of one, as the spec says) by its `service_request_id`, "
    "the complaint's tracking id, whichever channel filed it; a confidential complaint's "
    "content only for those the privacy rules allow.",
    responses=error_responses(403, 404),
)
async def get_request(
    request: Request,
    service_request_id: Annotated[str, Path(examples=["ADN-7K3QX9P2"])],
    principal: Reader,
    service: ServiceDep,
) -> list[RequestOut]:
    return await service.get(principal, service_request_id, language(request))


@router.get(
    "/tokens/{token}.json",
    response_model=list[TokenOut],
    summary="Open311: the request of a token",
    description="The `service_request_id` of the request a POST answered this `token` for.",
    responses=error_responses(403, 404),
)
async def get_token(
    token: Annotated[str, Path(examples=["4f0d1c2b9a8e7f6d5c4b3a29"])],
    _: Reader,
    service: ServiceDep,
) -> list[TokenOut]:
    return await service.token(token)


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def not_served(rest: str) -> None:
    """Anything else under /open311/v2 (XML formats, other operations): GeoReport's 404."""
    raise Open311Error(404, f"{rest[:64]}: not served here (JSON endpoints only)")
