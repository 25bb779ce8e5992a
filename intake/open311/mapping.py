"""From a GeoReport form to an Aduan complaint, and back. Pure: no database, no I/O.

A GeoReport request has no title, no report type and no region of its own: the title is the
first words of the description, the report type an attribute (`pengaduan` unless the client
sends `attribute[report_type]`), the region `address_id` (a Kemendagri code) or
`attribute[region_code]`. A request located by coordinates or an address only is filed without
a region and waits in the verification queue (`region_missing`) for an admin to set one.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import EmailStr, TypeAdapter, ValidationError

from intake.open311.errors import Open311Error
from intake.schemas import REGION_OPTIONAL, ComplaintCreate, ReportType
from services.domain.lifecycle import STATUS_LABELS, Status

# Indonesia's extent, with a margin for its outer islands and waters (Sabang to Merauke, Miangas
# to Rote): a point outside it is a client's mistake (swapped lat/long, a default of 0,0).
LAT_BOUNDS = (Decimal("-11.5"), Decimal("6.5"))
LONG_BOUNDS = (Decimal("94.5"), Decimal("141.5"))
DESCRIPTION_CHARS = (20, 4000)
TITLE_CHARS = 100
NAME_CHARS = 100
ADDRESS_CHARS = 500
MEDIA_URL_CHARS = 2048
MAX_FIELDS = 100
REGION_CODE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
PHONE = re.compile(r"^\+?[0-9]{8,15}$")
# GeoReport arguments Aduan reads nothing from (a single jurisdiction; no device accounts).
IGNORED = frozenset({"api_key", "jurisdiction_id", "device_id", "account_id"})
KNOWN = frozenset(
    {
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "description",
        "email",
        "first_name",
        "last_name",
        "phone",
        "media_url",
    }
)
ATTRIBUTE = re.compile(r"^attribute\[([^\]]*)\]$")
# The attributes every service declares (services/{code}.json).
ATTRIBUTES = ("region_code", "report_type")
CLOSED = frozenset({Status.resolved, Status.archived, Status.duplicate})
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


@dataclass(frozen=True)
class Draft:
    """A GeoReport request, checked field by field (the service checks what needs the
    database: the service code and the region)."""

    service_code: str
    description: str
    report_type: ReportType
    region_code: str | None
    region_argument: str | None  # which argument named the region (for its error)
    latitude: Decimal | None
    longitude: Decimal | None
    address: str | None
    name: str | None
    email: str | None
    phone: str | None
    media_url: str | None

    def complaint(self) -> ComplaintCreate:
        data: dict[str, Any] = {
            "report_type": self.report_type.value,
            "title": title_of(self.description),
            "description": self.description,
            "category": self.service_code,
            "region_code": self.region_code,
            "address": self.address,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }
        if self.name or self.email or self.phone:
            data["reporter"] = {"name": self.name, "email": self.email, "phone": self.phone}
        try:
            return ComplaintCreate.model_validate(data, context={REGION_OPTIONAL: True})
        except ValidationError as exc:  # the checks above mirror the schema; a guard
            raise Open311Error(
                400,
                *(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
            ) from exc


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """The form's fields, each sent once; 400 for anything that is not a well-formed
    `application/x-www-form-urlencoded` body in UTF-8."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise Open311Error(
            400, "request body: send the request form-encoded (application/x-www-form-urlencoded)"
        )
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise Open311Error(
            400, "request body: not a well-formed form (name=value pairs joined by &, UTF-8)"
        ) from exc
    form: dict[str, str] = {}
    repeated = []
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise Open311Error(400, f"{name.replace(chr(0), '')}: may not hold the NUL character")
        if name in form:
            repeated.append(name)
        form[name] = value
    if repeated:
        raise Open311Error(400, *(f"{n}: sent more than once" for n in sorted(set(repeated))))
    return form


def _text(form: dict[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _coordinate(
    form: dict[str, str], name: str, bounds: tuple[Decimal, Decimal], errors: list[str]
) -> Decimal | None:
    raw = _text(form, name)
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors.append(f"{name}: not a number ({raw[:20]!r})")
        return None
    if not value.is_finite():
        errors.append(f"{name}: not a number ({raw[:20]!r})")
        return None
    low, high = bounds
    if not low <= value <= high:
        errors.append(f"{name}: {value} lies outside Indonesia ({low} to {high})")
        return None
    return value.quantize(Decimal("0.000001"))


def read_request(form: dict[str, str]) -> Draft:
    """Every check of a POST requests.json that needs no database; all failures at once."""
    errors: list[str] = []
    attributes: dict[str, str] = {}
    for name, value in form.items():
        match = ATTRIBUTE.match(name)
        if match:
            if match.group(1) not in ATTRIBUTES:
                errors.append(f"{name}: not an attribute of this service ({', '.join(ATTRIBUTES)})")
            else:
                attributes[match.group(1)] = value.strip()
    service_code = _text(form, "service_code")
    if service_code is None:
        errors.append("service_code: required")
    elif len(service_code) > 64:
        errors.append("service_code: at most 64 characters")

    latitude = _coordinate(form, "lat", LAT_BOUNDS, errors)
    longitude = _coordinate(form, "long", LONG_BOUNDS, errors)
    has_lat, has_long = _text(form, "lat") is not None, _text(form, "long") is not None
    if has_lat != has_long:
        errors.append(
            f"{'long' if has_lat else 'lat'}: required with {'lat' if has_lat else 'long'}"
        )
    address = _text(form, "address_string")
    if address is not None and len(address) > ADDRESS_CHARS:
        errors.append(f"address_string: at most {ADDRESS_CHARS} characters")

    region_code, region_argument = None, None
    address_id = _text(form, "address_id")
    attribute_region = attributes.get("region_code") or None
    for argument, code in (
        ("address_id", address_id),
        ("attribute[region_code]", attribute_region),
    ):
        if code is None:
            continue
        if not REGION_CODE.match(code):
            errors.append(f"{argument}: not a Kemendagri region code (e.g. 11.01.01)")
        elif region_code is not None and code != region_code:
            errors.append(f"{argument}: names another region than {region_argument}")
        else:
            region_code, region_argument = code, argument
    if not (has_lat or has_long or address or address_id or attribute_region):
        errors.append(
            "lat/long: a location is required: lat and long, address_string, address_id "
            "or attribute[region_code]"
        )

    description = _text(form, "description")
    low, high = DESCRIPTION_CHARS
    if description is None:
        errors.append("description: required")
    elif not low <= len(description) <= high:
        errors.append(f"description: must be {low} to {high} characters long")

    report_type = ReportType.pengaduan
    if attributes.get("report_type"):
        try:
            report_type = ReportType(attributes["report_type"])
        except ValueError:
            errors.append(
                "attribute[report_type]: one of " + ", ".join(t.value for t in ReportType)
            )

    email = _text(form, "email")
    if email is not None:
        try:
            email = _EMAIL.validate_python(email)
        except ValidationError:
            errors.append("email: not an email address")
    phone = _text(form, "phone")
    if phone is not None:
        phone = re.sub(r"[\s\-().]", "", phone)
        if not PHONE.match(phone):
            errors.append("phone: 8 to 15 digits, optionally after a +")
    names = []
    for part in ("first_name", "last_name"):
        given = _text(form, part)
        if given is not None and len(given) > NAME_CHARS:
            errors.append(f"{part}: at most {NAME_CHARS} characters")
        elif given is not None:
            names.append(given)
    media_url = _text(form, "media_url")
    if media_url is not None:
        parts = urlsplit(media_url)
        if (
            len(media_url) > MEDIA_URL_CHARS
            or parts.scheme not in {"http", "https"}
            or not parts.netloc
        ):
            errors.append(f"media_url: an http(s) URL of at most {MEDIA_URL_CHARS} characters")
    if errors:
        raise Open311Error(400, *errors)
    assert service_code is not None and description is not None
    return Draft(
        service_code=service_code,
        description=description,
        report_type=report_type,
        region_code=region_code,
        region_argument=region_argument,
        latitude=latitude,
        longitude=longitude,
        address=address,
        name=" ".join(names) or None,
        email=email,
        phone=phone,
        media_url=media_url,
    )


def title_of(description: str) -> str:
    """A complaint's title from a GeoReport description: its first line, cut at a word."""
    line = " ".join(description.split("\n", 1)[0].split())
    if len(line) <= TITLE_CHARS:
        return line if len(line) >= 5 else " ".join(description.split())[:TITLE_CHARS]
    return line[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def open_or_closed(status: Status) -> str:
    return "closed" if status in CLOSED else "open"


def statuses_of(value: str) -> set[Status]:
    """The Aduan statuses of GeoReport's `open`/`closed` (comma-separated)."""
    wanted = {s.strip() for s in value.split(",") if s.strip()}
    if not wanted or not wanted <= {"open", "closed"}:
        raise Open311Error(400, "status: open, closed, or both comma-separated")
    return {s for s in Status if open_or_closed(s) in wanted}


def status_notes(status: Status) -> str:
    return f"{status.value}: {STATUS_LABELS[status]}"


def parse_datetime(name: str, value: str) -> datetime:
    """A W3C (ISO 8601) date-time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(
            400, f"{name}: not a W3C date-time (e.g. 2026-12-01T00:00:00+07:00)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def w3c(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()
