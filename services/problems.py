"""RFC 9457 problem details, in Indonesian or English by Accept-Language."""

from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.domain.lifecycle import IllegalTransition
from services.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://aduan.go.id/problems/"
log = get_logger(__name__)

# Every problem code there is: a code that is not here fails mypy where it is raised, and
# tests/services/test_problems.py keeps this list and the catalogue below the same.
ProblemCode = Literal[
    "bad_request",
    "validation_failed",
    "unauthenticated",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "illegal_transition",
    "idempotency_mismatch",
    "payload_too_large",
    "unsupported_media_type",
    "service_unavailable",
    "bad_gateway",
    "gateway_timeout",
    "internal_error",
]

# code -> (status, English title, Indonesian title)
CATALOGUE: dict[ProblemCode, tuple[int, str, str]] = {
    "bad_request": (400, "Malformed request", "Permintaan rusak"),
    "validation_failed": (422, "Request is not valid", "Permintaan tidak valid"),
    "unauthenticated": (401, "Authentication required", "Autentikasi diperlukan"),
    "forbidden": (403, "Not allowed", "Tidak diizinkan"),
    "not_found": (404, "Not found", "Tidak ditemukan"),
    "method_not_allowed": (405, "Method not allowed", "Metode tidak diizinkan"),
    "conflict": (409, "Conflict", "Konflik"),
    "illegal_transition": (409, "Illegal status change", "Perubahan status tidak diizinkan"),
    "idempotency_mismatch": (
        422,
        "Idempotency-Key reused with a different request",
        "Idempotency-Key dipakai ulang dengan permintaan berbeda",
    ),
    "payload_too_large": (413, "Request body too large", "Isi permintaan terlalu besar"),
    "unsupported_media_type": (415, "Unsupported media type", "Jenis media tidak didukung"),
    "service_unavailable": (503, "Service unavailable", "Layanan tidak tersedia"),
    "bad_gateway": (502, "Upstream service failed", "Layanan hulu gagal"),
    "gateway_timeout": (
        504,
        "Upstream service timed out",
        "Layanan hulu tidak merespons tepat waktu",
    ),
    "internal_error": (500, "Internal error", "Kesalahan internal"),
}

# Field-level messages we raise ourselves, by code.
FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_region": ("Unknown region code", "Kode wilayah tidak dikenal"),
    "unknown_category": ("Unknown category", "Kategori tidak dikenal"),
    "private_target": (
        "Private or loopback addresses are not allowed",
        "Alamat privat atau loopback tidak diizinkan",
    ),
    "unresolvable_target": (
        "The host name does not resolve",
        "Nama host tidak dapat di-resolve",
    ),
    "unknown_event_type": ("Unknown event type", "Jenis event tidak dikenal"),
    "invalid_cursor": ("Invalid cursor", "Cursor tidak valid"),
}


# Indonesian for pydantic's error types (its own messages are English only), by `type`.
VALIDATION_MESSAGES_ID: dict[str, str] = {
    "missing": "Wajib diisi",
    "enum": "Harus salah satu dari: {expected}",
    "literal_error": "Harus salah satu dari: {expected}",
    "string_too_short": "Minimal {min_length} karakter",
    "string_too_long": "Maksimal {max_length} karakter",
    "string_pattern_mismatch": "Format tidak sesuai",
    "string_type": "Harus berupa teks",
    "value_error": "Nilai tidak valid",
    "extra_forbidden": "Kolom tidak dikenal",
    "json_invalid": "JSON tidak valid",
    "model_attributes_type": "Harus berupa objek JSON",
    "dict_type": "Harus berupa objek JSON",
    "list_type": "Harus berupa daftar",
    "bool_type": "Harus true atau false",
    "bool_parsing": "Harus true atau false",
    "int_parsing": "Harus bilangan bulat",
    "int_type": "Harus bilangan bulat",
    "decimal_parsing": "Harus berupa angka",
    "decimal_type": "Harus berupa angka",
    "decimal_max_places": "Maksimal {decimal_places} angka di belakang koma",
    "greater_than_equal": "Minimal {ge}",
    "less_than_equal": "Maksimal {le}",
    "date_parsing": "Tanggal tidak valid (format YYYY-MM-DD)",
    "date_from_datetime_parsing": "Tanggal tidak valid (format YYYY-MM-DD)",
    "date_type": "Tanggal tidak valid (format YYYY-MM-DD)",
    "uuid_parsing": "UUID tidak valid",
}


def validation_message(error: dict[str, Any], lang: str) -> str:
    template = VALIDATION_MESSAGES_ID.get(error.get("type", "")) if lang == "id" else None
    if template is None:
        return str(error.get("msg", "invalid"))
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return template.split(":")[0]


class FieldError(BaseModel):
    pointer: str = Field(description="JSON pointer into the request, e.g. /region_code")
    code: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[PROBLEM_BASE + "validation_failed"])
    title: str = Field(examples=["Permintaan tidak valid"])
    status: int = Field(examples=[422])
    detail: str | None = None
    instance: str | None = None
    code: str = Field(examples=["validation_failed"])
    request_id: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ProblemError(Exception):
    def __init__(
        self,
        code: ProblemCode,
        detail: str | None = None,
        *,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.field_errors = errors or []  # (pointer, field code)
        self.headers = headers


def language(request: Request) -> str:
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("id") or tag.startswith("in"):
            return "id"
    return "id"


def problem_response(
    request: Request,
    code: ProblemCode,
    *,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    default_status, title_en, title_id = CATALOGUE[code]
    problem = Problem(
        type=PROBLEM_BASE + code,
        title=title_en if language(request) == "en" else title_id,
        status=status or default_status,
        detail=detail,
        instance=request.url.path,
        code=code,
        request_id=getattr(request.state, "request_id", None),
        errors=errors or [],
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"body", "query", "path"} else list(loc)
    return "/" + "/".join(str(p) for p in parts)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    lang = language(request)
    errors = []
    for pointer, field_code in exc.field_errors:
        en, id_ = FIELD_MESSAGES.get(field_code, (field_code, field_code))
        errors.append(
            FieldError(pointer=pointer, code=field_code, message=en if lang == "en" else id_)
        )
    return problem_response(
        request, exc.code, detail=exc.detail, errors=errors, headers=exc.headers
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = language(request)
    errors = [
        FieldError(
            # A JSON syntax error's location is a character offset, not a field: the body.
            pointer="/" if e.get("type") == "json_invalid" else _pointer(tuple(e.get("loc", ()))),
            code=e.get("type", "invalid"),
            message=validation_message(e, lang),
        )
        for e in exc.errors()
    ]
    return problem_response(request, "validation_failed", errors=errors)


_STATUS_CODES: dict[int, ProblemCode] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    503: "service_unavailable",
}


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code: ProblemCode = _STATUS_CODES.get(
        exc.status_code, "internal_error" if exc.status_code >= 500 else "bad_request"
    )
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        request, code, detail=detail, status=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _on_stale(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        request, "conflict", detail="the complaint was changed by someone else; reload and retry"
    )


async def _on_illegal_transition(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IllegalTransition)
    return problem_response(request, "illegal_transition", detail=str(exc))


async def _on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The database went away mid-request: nothing was committed, so the client may retry.
    log.warning("dependency unavailable on %s %s: %r", request.method, request.url.path, exc)
    return problem_response(
        request,
        "service_unavailable",
        detail="a dependency of this service is unavailable; retry shortly",
        headers={"Retry-After": "5"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, "internal_error")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StaleDataError, _on_stale)
    app.add_exception_handler(IllegalTransition, _on_illegal_transition)
    for unavailable in (OperationalError, InterfaceError, OSError, TimeoutError):
        app.add_exception_handler(unavailable, _on_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": title}
    for status, title in [(401, "Not authenticated"), (422, "Invalid request")]
}
