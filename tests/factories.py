"""Test data, written straight to the tables: one service's tests never need another service's
code to set up their world. Each factory adds to the session it is given and flushes; the
caller commits (or the test's transaction is rolled back)."""

import base64
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.events.catalogue import EventType
from services.models import (
    Account,
    Agency,
    ApiKey,
    Complaint,
    ComplaintAgency,
    ComplaintAttachment,
    ComplaintClock,
    ComplaintFollowUp,
    DispositionRule,
    Event,
    NotificationPreference,
    Open311Request,
)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PASSWORD = "rahasia-sekali-123"
# argon2id as the gateway stores it, with cheap parameters: the gateway verifies any parameters
# (and upgrades the hash at the first sign-in).
_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def new_id() -> uuid.UUID:
    return uuid.UUID(str(uuid7()))


def tracking_id() -> str:
    return "ADN-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


async def add_complaint(
    session: AsyncSession,
    *,
    status: str = "submitted",
    region_code: str | None = "11.01.01",
    category: str = "infrastruktur",
    report_type: str = "pengaduan",
    confidential: bool = False,
    anonymous: bool = False,
    **fields: Any,
) -> Complaint:
    defaults: dict[str, Any] = {
        "title": "Jalan berlubang di depan Pasar Bakongan",
        "description": "Jalan utama di depan pasar berlubang besar sejak dua bulan dan "
        "membahayakan pengendara motor.",
        "reporter_name": "Siti",
        "reporter_email": "siti@example.id",
        "submitted_by": "anonymous:-",
        "tracking_id": tracking_id(),  # intake: a test may give its own (a collision, an old id)
    }
    complaint = Complaint(
        id=new_id(),
        report_type=report_type,
        category_code=category,
        region_code=region_code,
        anonymous=anonymous,
        confidential=confidential,
        status=status,
        escalation_level=0,
        **(defaults | fields),
    )
    session.add(complaint)
    await session.flush()
    return complaint


async def add_event(
    session: AsyncSession,
    type_: EventType | str = EventType.complaint_submitted,
    *,
    complaint: Complaint | None = None,
    age_seconds: float = 0,
    published: bool = True,
    data: dict[str, Any] | None = None,
) -> Event:
    """An event row, `age_seconds` old, published (as the fast path leaves it) or not."""
    occurred_at = datetime.now(UTC) - timedelta(seconds=age_seconds)
    event = Event(
        id=new_id(),
        type=str(type_),
        occurred_at=occurred_at,
        complaint_id=complaint.id if complaint else None,
        actor_kind="anonymous",
        actor_id=None,
        data=data
        if data is not None
        else (
            {"tracking_id": complaint.tracking_id, "region_code": complaint.region_code}
            if complaint
            else {}
        ),
        trace_id=None,
        published_at=occurred_at if published else None,
    )
    session.add(event)
    await session.flush()
    return event


async def assign(
    session: AsyncSession, complaint: Complaint, agency_code: str, **fields: Any
) -> Agency:
    """Disposition `complaint` to the seeded agency `agency_code` (e.g. "pemda-11.01");
    `fields`: the assignment's role, status, active, …"""
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    assert agency is not None, f"no seeded agency {agency_code}"
    session.add(
        ComplaintAgency(id=new_id(), complaint_id=complaint.id, agency_id=agency.id, **fields)
    )
    await session.flush()
    return agency


async def add_clock(
    session: AsyncSession,
    complaint: Complaint,
    *,
    kind: str = "first_response",
    agency_id: uuid.UUID | None = None,
    due_in: timedelta = timedelta(days=5),
    **fields: Any,
) -> ComplaintClock:
    """A running clock due `due_in` from now (negative: overdue)."""
    now = datetime.now(UTC)
    clock = ComplaintClock(
        id=new_id(),
        complaint_id=complaint.id,
        agency_id=agency_id,
        kind=kind,
        timezone="Asia/Jakarta",
        working_days=5,
        started_at=now - timedelta(days=1),
        warn_at=now + due_in * 0.8,
        due_at=now + due_in,
        next_check_at=now + due_in,
        **fields,
    )
    session.add(clock)
    await session.flush()
    return clock


async def agency_id(session: AsyncSession, code: str) -> uuid.UUID:
    found = await session.scalar(select(Agency.id).where(Agency.code == code))
    assert found is not None, f"no seeded agency {code}"
    return found


async def add_account(
    session: AsyncSession,
    *,
    role: str = "citizen",
    agency_id: uuid.UUID | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    totp_secret: str | None = None,
    name: str = "Siti Rahmawati",
    active: bool = True,
) -> Account:
    """An account that signs in with `password`; with `totp_secret`, its second factor is on."""
    account = Account(
        id=new_id(),
        role=role,
        name=name,
        email=(email or f"{role}-{secrets.token_hex(4)}@example.id").lower(),
        phone="+6281234567890",
        password_hash=_HASHER.hash(password),
        agency_id=agency_id,
        totp_secret=totp_secret,
        totp_enabled_at=datetime.now(UTC) if totp_secret else None,
        active=active,
        created_by="test",
    )
    session.add(account)
    await session.flush()
    return account


async def add_api_key(
    session: AsyncSession,
    *,
    role: str,
    agency_id: uuid.UUID | None = None,
    region_codes: Sequence[str] = (),
    name: str = "test system",
) -> tuple[ApiKey, str]:
    """An API key row and the whole key to send (`Authorization: Bearer adn_…`)."""
    prefix = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        prefix=prefix,
        secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
        name=name,
        role=role,
        agency_id=agency_id,
        region_codes=list(region_codes),
        created_by="test",
    )
    session.add(key)
    await session.flush()
    return key, f"adn_{prefix}_{secret}"


async def add_office(session: AsyncSession, parent_code: str, office_type: str) -> Agency:
    """The office (OPD) `<parent code>.<office type>` under a seeded government: the seeded one
    when the directory has it, else a new row."""
    code = f"{parent_code}.{office_type.replace('_', '-')}"
    found = await session.scalar(select(Agency).where(Agency.code == code))
    if found is not None:
        return found
    parent = await session.scalar(select(Agency).where(Agency.code == parent_code))
    assert parent is not None, f"no seeded agency {parent_code}"
    office = Agency(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"aduan-test-office:{code}"),
        code=code,
        name=f"{office_type} {parent.name}",
        kind="opd",
        region_code=parent.region_code,
        parent_id=parent.id,
        timezone=parent.timezone,
        office_type=office_type,
    )
    session.add(office)
    await session.flush()
    return office


async def add_rule(
    session: AsyncSession, category: str, target_level: str, **fields: Any
) -> DispositionRule:
    """A disposition rule (`fields`: report_type, region_prefix, office_type, agency_id,
    priority, active, description). Routing caches rules per process: clear its cache."""
    rule = DispositionRule(id=new_id(), category_code=category, target_level=target_level, **fields)
    session.add(rule)
    await session.flush()
    return rule


# --- convo: the conversation ---------------------------------------------------------------


async def add_timeline_event(
    session: AsyncSession,
    complaint: Complaint,
    type_: EventType | str,
    *,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
    private_data: dict[str, Any] | None = None,
    actor_kind: str = "agency",
    actor_role: str | None = "liaison",
) -> Event:
    """An event of `complaint`'s timeline at `at` (now by default), published, with its
    complaint snapshot keys and `data` beside them; `private_data` as a confidential
    complaint's texts are kept."""
    occurred_at = at or datetime.now(UTC)
    event = Event(
        id=new_id(),
        type=str(type_),
        occurred_at=occurred_at,
        complaint_id=complaint.id,
        actor_kind=actor_kind,
        actor_role=actor_role,
        actor_id=None,
        data={"tracking_id": complaint.tracking_id, "status": complaint.status} | (data or {}),
        private_data=private_data,
        trace_id=None,
        published_at=occurred_at,
    )
    session.add(event)
    await session.flush()
    return event


# Open311 GeoReport v2
async def add_open311_request(
    session: AsyncSession,
    complaint: Complaint,
    *,
    token: str | None = None,
    media_url: str | None = None,
) -> Open311Request:
    """The GeoReport token (and media URL) of a complaint filed through Open311."""
    request = Open311Request(
        complaint_id=complaint.id, token=token or secrets.token_hex(12), media_url=media_url
    )
    session.add(request)
    await session.flush()
    return request


# --- attachments (issue 8) --------------------------------------------------------------------


async def add_follow_up(
    session: AsyncSession, complaint: Complaint, agency_code: str, text: str = "Sudah ditinjau."
) -> ComplaintFollowUp:
    """A follow-up (tindak lanjut) the seeded agency `agency_code` gave on `complaint`."""
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    assert agency is not None, f"no seeded agency {agency_code}"
    follow_up = ComplaintFollowUp(
        id=new_id(),
        complaint_id=complaint.id,
        agency_id=agency.id,
        text=text,
        actor_role="liaison",
        actor_id=None,
    )
    session.add(follow_up)
    await session.flush()
    return follow_up


def photo_with_gps(width: int = 64, height: int = 48, orientation: int = 1) -> bytes:
    """A JPEG such as a phone writes: EXIF with the camera, an orientation and a GPS IFD that
    places it at a reporter's home (-6.2°, 106.8°)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, width // 2, height // 2))  # a corner shows the rotation
    exif = Image.Exif()
    exif[0x010F] = "Pabrikan Ponsel"  # Make
    exif[0x0112] = orientation
    exif[0x8825] = {  # GPSInfo IFD
        1: "S",  # GPSLatitudeRef
        2: (6.0, 12.0, 30.5),  # GPSLatitude
        3: "E",  # GPSLongitudeRef
        4: (106.0, 48.0, 10.2),  # GPSLongitude
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


async def add_attachment(
    session: AsyncSession, complaint: Complaint, *, sha256: str | None = None, by: str = "reporter"
) -> ComplaintAttachment:
    """An attachment row only (no file in the media store): for limits and listings."""
    attachment = ComplaintAttachment(
        id=new_id(),
        complaint_id=complaint.id,
        sha256=sha256 or secrets.token_hex(32),
        content_type="application/pdf",
        size=1234,
        filename="surat.pdf",
        uploaded_by=by,
        actor_role="anonymous",
    )
    session.add(attachment)
    await session.flush()
    return attachment


# --- statistics (routing/stats): timelines, assignments and clocks at fixed times -----------
async def add_timeline(
    session: AsyncSession,
    complaint: Complaint,
    entries: Sequence[tuple[str, datetime, dict[str, Any]]],
) -> list[Event]:
    """Events of `complaint` at the given times: (type, occurred_at, data)."""
    events = [
        Event(
            id=new_id(),
            type=type_,
            occurred_at=at,
            complaint_id=complaint.id,
            actor_kind="system",
            data={"tracking_id": complaint.tracking_id, **data},
            published_at=at,
            settled_at=at,
        )
        for type_, at, data in entries
    ]
    session.add_all(events)
    await session.flush()
    return events


async def add_assignment(
    session: AsyncSession, complaint: Complaint, agency_code: str, **fields: Any
) -> ComplaintAgency:
    """Like `assign`, returning the assignment (a delegation's `source_id` names it)."""
    found = await agency_id(session, agency_code)
    assignment = ComplaintAgency(id=new_id(), complaint_id=complaint.id, agency_id=found, **fields)
    session.add(assignment)
    await session.flush()
    return assignment


async def add_timed_clock(
    session: AsyncSession,
    complaint: Complaint,
    kind: str,
    *,
    started_at: datetime,
    due_at: datetime,
    working_days: int,
    agency_code: str | None = None,
    timezone: str = "Asia/Jakarta",
    stopped_at: datetime | None = None,
    paused_at: datetime | None = None,
    breached_at: datetime | None = None,
) -> ComplaintClock:
    """A clock with explicit times (running when `stopped_at` is None)."""
    clock = ComplaintClock(
        id=new_id(),
        complaint_id=complaint.id,
        agency_id=await agency_id(session, agency_code) if agency_code else None,
        kind=kind,
        timezone=timezone,
        working_days=working_days,
        started_at=started_at,
        warn_at=started_at,
        due_at=due_at,
        stopped_at=stopped_at,
        paused_at=paused_at,
        breached_at=breached_at,
        warned_at=started_at,
        next_check_at=None if stopped_at else due_at,
    )
    session.add(clock)
    await session.flush()
    return clock


# --- notifications to people (issue 9, people) -------------------------------------------------


async def add_preferences(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    language: str = "id",
    email: bool = True,
    push: bool = True,
    sms: bool = False,
    push_tokens: Sequence[str] = (),
    daily_digest: bool = False,
) -> NotificationPreference:
    """An account's notification preferences, as it would set them."""
    row = NotificationPreference(
        account_id=account_id,
        language=language,
        email=email,
        push=push,
        sms=sms,
        push_tokens=list(push_tokens),
        daily_digest=daily_digest,
    )
    session.add(row)
    await session.flush()
    return row


def account_event_data(
    account_id: uuid.UUID,
    *,
    role: str = "citizen",
    email: str | None = None,
    phone: str | None = "+6281234567890",
    agency_id: uuid.UUID | None = None,
    name: str = "Siti Rahmawati",
) -> dict[str, Any]:
    """The data of an `account.registered` / `account.staff_created` event, as the gateway
    records it."""
    return {
        "account_id": str(account_id),
        "role": role,
        "name": name,
        "email": email or f"{role}-{secrets.token_hex(4)}@example.id",
        "phone": phone,
        "agency_id": str(agency_id) if agency_id else None,
    }
