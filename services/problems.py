"""RFC 9457 problem details, in Indonesian or English by Accept-Language."""

import enum
import json
import re
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.domain.lifecycle import IllegalTransition
from services.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://aduan.go.id/problems/"
log = get_logger(__name__)


class ProblemCode(enum.StrEnum):
    """Every problem code there is: the `code` of every problem answer is one of these."""

    bad_request = "bad_request"
    invalid_encoding = "invalid_encoding"
    validation_failed = "validation_failed"
    unauthenticated = "unauthenticated"
    forbidden = "forbidden"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    conflict = "conflict"
    illegal_transition = "illegal_transition"
    idempotency_mismatch = "idempotency_mismatch"
    payload_too_large = "payload_too_large"
    unsupported_media_type = "unsupported_media_type"
    rate_limited = "rate_limited"
    service_unavailable = "service_unavailable"
    bad_gateway = "bad_gateway"
    gateway_timeout = "gateway_timeout"
    internal_error = "internal_error"
    # convo: the reporter's actions and the conversation
    not_reporter = "not_reporter"
    wrong_status = "wrong_status"
    reply_window_closed = "reply_window_closed"
    reopen_window_closed = "reopen_window_closed"
    already_rated = "already_rated"


# The same codes as string literals, so `ProblemError("not_found")` type-checks and a typo
# fails mypy where it is raised; tests/services/test_problems.py keeps the two lists equal.
ProblemCodeName = Literal[
    "bad_request",
    "invalid_encoding",
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
    "rate_limited",
    "service_unavailable",
    "bad_gateway",
    "gateway_timeout",
    "internal_error",
    # convo
    "not_reporter",
    "wrong_status",
    "reply_window_closed",
    "reopen_window_closed",
    "already_rated",
]
AnyProblemCode = ProblemCode | ProblemCodeName

# code -> (status, English title, Indonesian title)
CATALOGUE: dict[ProblemCode, tuple[int, str, str]] = {
    ProblemCode.bad_request: (400, "Malformed request", "Permintaan rusak"),
    ProblemCode.invalid_encoding: (
        400,
        "Request body is not valid UTF-8",
        "Isi permintaan bukan UTF-8 yang valid",
    ),
    ProblemCode.validation_failed: (422, "Request is not valid", "Permintaan tidak valid"),
    ProblemCode.unauthenticated: (401, "Authentication required", "Autentikasi diperlukan"),
    ProblemCode.forbidden: (403, "Not allowed", "Tidak diizinkan"),
    ProblemCode.not_found: (404, "Not found", "Tidak ditemukan"),
    ProblemCode.method_not_allowed: (405, "Method not allowed", "Metode tidak diizinkan"),
    ProblemCode.conflict: (409, "Conflict", "Konflik"),
    ProblemCode.illegal_transition: (
        409,
        "Illegal status change",
        "Perubahan status tidak diizinkan",
    ),
    ProblemCode.idempotency_mismatch: (
        422,
        "Idempotency-Key reused with a different request",
        "Idempotency-Key dipakai ulang dengan permintaan berbeda",
    ),
    ProblemCode.payload_too_large: (
        413,
        "Request body too large",
        "Isi permintaan terlalu besar",
    ),
    ProblemCode.unsupported_media_type: (
        415,
        "Unsupported media type",
        "Jenis media tidak didukung",
    ),
    ProblemCode.rate_limited: (429, "Too many requests", "Terlalu banyak permintaan"),
    ProblemCode.service_unavailable: (503, "Service unavailable", "Layanan tidak tersedia"),
    ProblemCode.bad_gateway: (502, "Upstream service failed", "Layanan hulu gagal"),
    ProblemCode.gateway_timeout: (
        504,
        "Upstream service timed out",
        "Layanan hulu tidak merespons tepat waktu",
    ),
    ProblemCode.internal_error: (500, "Internal error", "Kesalahan internal"),
    # convo
    ProblemCode.not_reporter: (
        403,
        "Only the complaint's reporter may do this",
        "Hanya pelapor pengaduan ini yang dapat melakukannya",
    ),
    ProblemCode.wrong_status: (
        409,
        "Not possible in the complaint's status",
        "Tidak dapat dilakukan pada status pengaduan ini",
    ),
    ProblemCode.reply_window_closed: (
        409,
        "The reply window is closed",
        "Batas waktu tanggapan telah berakhir",
    ),
    ProblemCode.reopen_window_closed: (
        409,
        "Too late to reopen the complaint",
        "Batas waktu membuka kembali pengaduan telah berakhir",
    ),
    ProblemCode.already_rated: (409, "Already rated", "Sudah diberi penilaian"),
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
    "missing": ("Required", "Wajib diisi"),
    "unknown_agency": ("Unknown agency", "Instansi tidak dikenal"),
    "agency_cycle": (
        "An agency cannot sit below itself or one of its offices",
        "Instansi tidak dapat berada di bawah dirinya sendiri atau kantornya",
    ),
    "agency_not_allowed": ("Not allowed for this role", "Tidak diizinkan untuk peran ini"),
    "regions_not_allowed": ("Not allowed for this role", "Tidak diizinkan untuk peran ini"),
    "invalid_otp": ("The code is not valid", "Kode tidak valid"),
    # convo: marking duplicates
    "unknown_complaint": ("Unknown tracking id", "Nomor pelacakan tidak dikenal"),
    "duplicate_of_itself": (
        "A complaint cannot duplicate itself",
        "Pengaduan tidak dapat menjadi duplikat dirinya sendiri",
    ),
    "target_is_duplicate": (
        "That complaint is itself a duplicate: name the one it duplicates",
        "Pengaduan itu sendiri duplikat: sebutkan pengaduan aslinya",
    ),
    # attachments (issue 8)
    "unsupported_file_type": (
        "Only JPEG, PNG, WebP, PDF and MP4 files are accepted",
        "Hanya berkas JPEG, PNG, WebP, PDF dan MP4 yang diterima",
    ),
    "file_type_mismatch": (
        "The declared type or file name does not match the file's content",
        "Jenis atau nama berkas yang dinyatakan tidak sesuai dengan isinya",
    ),
    "file_too_large": ("The file is too large", "Berkas terlalu besar"),
    "empty_file": ("The file is empty", "Berkas kosong"),
    "unreadable_file": ("The file cannot be read", "Berkas tidak dapat dibaca"),
    "malformed_multipart": (
        "Not a readable multipart/form-data body",
        "Bukan isi multipart/form-data yang dapat dibaca",
    ),
    "too_many_attachments": ("Too many attachments", "Terlalu banyak lampiran"),
    "complaint_closed": ("The complaint is closed", "Pengaduan sudah ditutup"),
    "unknown_follow_up": ("Unknown follow-up", "Tindak lanjut tidak dikenal"),
    "unknown_field": ("Unknown field", "Kolom tidak dikenal"),
    "too_long": ("Too long", "Terlalu panjang"),
    "one_file_only": ("One file per request", "Satu berkas per permintaan"),
    "image_too_large": ("The image has too many pixels", "Gambar memiliki terlalu banyak piksel"),
    # statistics (routing/stats)
    "period_reversed": (
        "The period ends before it starts",
        "Periode berakhir sebelum dimulai",
    ),
    "unknown_measure": ("Unknown measure", "Ukuran tidak dikenal"),
    # notifications to people (issue 9, people)
    "staff_only": ("Only for agency staff", "Hanya untuk staf instansi"),
    # intake (issue 8): complaints
    "coordinates_incomplete": (
        "Send latitude and longitude together",
        "Kirim lintang dan bujur bersamaan",
    ),
    "channel_not_allowed": (
        "This channel is set by the platform, not by the caller",
        "Kanal ini ditetapkan oleh platform, bukan oleh pengirim",
    ),
    "regional_systems_only": (
        "Only regional systems' keys send this field",
        "Hanya kunci sistem daerah yang boleh mengirim kolom ini",
    ),
    "json_required": ("Send application/json", "Kirim sebagai application/json"),
    # webhooks (issue 9)
    "https_required": ("Only https:// URLs are accepted", "Hanya URL https:// yang diterima"),
    "out_of_scope": ("Outside your own scope", "Di luar cakupan Anda"),
    "invalid_host": ("The host name is not valid", "Nama host tidak valid"),
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
    "date_in_future": "Tanggal tidak boleh di masa depan (WIB)",  # intake (issue 8)
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
    code: ProblemCode = Field(
        description="Stable machine-readable code: `type` ends with it", examples=["not_found"]
    )
    request_id: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ProblemError(Exception):
    def __init__(
        self,
        code: AnyProblemCode,
        detail: str | None = None,
        *,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.code = ProblemCode(code)
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
    code: AnyProblemCode,
    *,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    code = ProblemCode(code)
    default_status, title_en, title_id = CATALOGUE[code]
    problem = Problem(
        type=PROBLEM_BASE + code.value,
        title=title_en if language(request) == "en" else title_id,
        status=status or default_status,
        detail=detail,
        instance=request.url.path,
        code=code,
        request_id=getattr(request.state, "request_id", None),
        errors=errors or [],
    )
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _escape(token: object) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = list(loc[1:]) if loc and loc[0] in {"body", "query", "path"} else list(loc)
    return "/" + "/".join(_escape(p) for p in parts)


# A JSON text as tokens: a string, an unterminated string (the text breaks inside it), a
# structural character, or a run of anything else (numbers, literals, garbage).
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|".*|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)
JSON_POINTER_SCAN_LIMIT = 262_144  # characters; a break further in is reported at the body


def json_error_pointer(document: str, position: int) -> str:
    """The JSON pointer of the member a broken JSON text breaks in, or `/` when it breaks
    outside any member (between members, before the first, after the end).

    `{"reporter": {"email": }}` points at `/reporter/email`, a text cut off inside the title's
    value at `/title`, `{"title": "x" "description": "y"}` (a missing comma) at `/`.
    """
    if position > JSON_POINTER_SCAN_LIMIT:
        return "/"
    # One frame per open container: [is an object, member, state]. The member is the name
    # (objects) or the index (arrays) of the member being read; the state is "key" (a name is
    # due), "name" (a name was read), "value" (a value is due or being read) or "after".
    frames: list[list[Any]] = []
    scalar_end = -1  # where the last number or literal ended
    for match in _JSON_TOKEN.finditer(document, 0, position):
        token = match.group()
        top = frames[-1] if frames else None
        if token == "{":
            frames.append([True, None, "key"])
        elif token == "[":
            frames.append([False, 0, "value"])
        elif token in "}]":
            if frames:
                frames.pop()
            if frames:
                frames[-1][2] = "after"
        elif top is None:
            continue
        elif token == ":":
            if top[0] and top[2] == "name":
                top[2] = "value"
        elif token == ",":
            top[1], top[2] = (None, "key") if top[0] else (top[1] + 1, "value")
        elif token.startswith('"') and (len(token) == 1 or not token.endswith('"')):
            break  # unterminated: the text breaks inside this string
        elif token.startswith('"') and top[0] and top[2] == "key":
            try:
                top[1] = json.loads(token)
            except ValueError:
                top[1] = token[1:-1]
            top[2] = "name"
        else:
            top[2] = "after"
            scalar_end = -1 if token.startswith('"') else match.end()
    if frames and scalar_end == position and frames[-1][2] == "after":
        frames[-1][2] = "value"  # the break is inside a number or literal (`1.`, `tru`)
    path = [member for _, member, _ in frames[:-1]]
    if frames and frames[-1][2] in {"name", "value"}:
        path.append(frames[-1][1])
    return "/" + "/".join(_escape(p) for p in path if p is not None)


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
            pointer=_error_pointer(e, exc.body),
            code=e.get("type", "invalid"),
            message=validation_message(e, lang),
        )
        for e in exc.errors()
    ]
    return problem_response(request, "validation_failed", errors=errors)


def _error_pointer(error: dict[str, Any], body: Any) -> str:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid" and len(loc) == 2 and loc[0] == "body":
        # A syntax error in the body: FastAPI's location is a character offset, not a field.
        if isinstance(loc[1], int) and isinstance(body, str):
            return json_error_pointer(body, loc[1])
        return "/"
    return _pointer(loc)


_STATUS_CODES: dict[int, ProblemCode] = {
    400: ProblemCode.bad_request,
    401: ProblemCode.unauthenticated,
    403: ProblemCode.forbidden,
    404: ProblemCode.not_found,
    405: ProblemCode.method_not_allowed,
    409: ProblemCode.conflict,
    413: ProblemCode.payload_too_large,
    415: ProblemCode.unsupported_media_type,
    429: ProblemCode.rate_limited,
    503: ProblemCode.service_unavailable,
}


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's "There was an error parsing the body" for a body that is not UTF-8.
        reason = exc.__cause__
        return problem_response(
            request,
            ProblemCode.invalid_encoding,
            detail=f"the body is not valid UTF-8 (byte {reason.start}): send JSON in UTF-8",
        )
    code = _STATUS_CODES.get(
        exc.status_code,
        ProblemCode.internal_error if exc.status_code >= 500 else ProblemCode.bad_request,
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


# PostgreSQL cannot store U+0000 in text (character_not_in_repertoire, untranslatable_character):
# a request carrying one is invalid, wherever the character sits (body, query, path, form).
UNSTORABLE_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if getattr(exc.orig, "sqlstate", None) in UNSTORABLE_TEXT_SQLSTATES:
        return problem_response(
            request,
            "validation_failed",
            detail="text may not contain the NUL character (U+0000)",
        )
    return await _on_unexpected(request, exc)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StaleDataError, _on_stale)
    app.add_exception_handler(IllegalTransition, _on_illegal_transition)
    app.add_exception_handler(DBAPIError, _on_database_error)
    for unavailable in (OperationalError, InterfaceError, OSError, TimeoutError):
        app.add_exception_handler(unavailable, _on_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": title}
    for status, title in [(401, "Not authenticated"), (422, "Invalid request")]
}
