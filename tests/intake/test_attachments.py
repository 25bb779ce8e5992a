"""Attachments, in-process against the real database (rolled back per test) and a real media
directory: what is stored, what comes back, and that every refused upload stores nothing."""

import dataclasses
import hashlib
import io
import struct
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.main import create_app
from services.models import Complaint, ComplaintAttachment, Event
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.privacy import hash_reporter_token
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import (
    add_attachment,
    add_complaint,
    add_follow_up,
    agency_id,
    assign,
    photo_with_gps,
)

TOKEN = "rpt_attachments-test-token-0123456789abcdef"
REPORTER = {"X-Reporter-Token": TOKEN}
STRANGER = Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(uuid.uuid4()))
GPS_IFD = 0x8825


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


def pdf_bytes(size: int = 2048) -> bytes:
    head = b"%PDF-1.4\n% Surat keterangan\n"
    return head + b"0" * (size - len(head))


@dataclass
class World:
    runtime: Runtime
    media: Path
    session: AsyncSession
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, principal: Principal = ANONYMOUS, **settings: Any) -> httpx.AsyncClient:
        runtime = self.runtime
        if settings:
            runtime = dataclasses.replace(
                runtime, settings=runtime.settings.model_copy(update=settings)
            )
        client = service_client(create_app(runtime.settings), runtime, principal)
        self.clients.append(client)
        return client

    async def complaint(self, **fields: Any) -> Complaint:
        return await add_complaint(
            self.session, reporter_token_hash=hash_reporter_token(TOKEN), **fields
        )

    def files(self) -> set[Path]:
        return {p for p in self.media.rglob("*") if p.is_file()}

    async def rows(self) -> int:
        count = select(func.count()).select_from(ComplaintAttachment)
        return int(await self.session.scalar(count) or 0)


@pytest.fixture
async def world(runtime: Runtime, session: AsyncSession, tmp_path: Path) -> AsyncIterator[World]:
    media = tmp_path / "media"
    settings = runtime.settings.model_copy(update={"media_dir": media})
    made = World(dataclasses.replace(runtime, settings=settings), media, session)
    yield made
    for client in made.clients:
        await client.aclose()


def upload(
    client: httpx.AsyncClient,
    tracking_id: str,
    content: bytes,
    filename: str = "foto.jpg",
    content_type: str = "image/jpeg",
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Awaitable[httpx.Response]:
    return client.post(
        f"/api/v1/complaints/{tracking_id}/attachments",
        files={"file": (filename, content, content_type)},
        data=fields or None,
        headers=REPORTER if headers is None else headers,
    )


async def test_a_photo_with_gps_comes_back_without_any_location_and_still_decodes(
    world: World,
) -> None:
    complaint = await world.complaint()
    client = world.client()
    # Orientation 6: the camera was held sideways; the stored image is turned upright.
    sent = photo_with_gps(width=64, height=48, orientation=6)
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD)  # the location is there

    created = await upload(client, complaint.tracking_id, sent, filename="../../rumah saya.jpg")

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["content_type"] == "image/jpeg"
    assert body["uploaded_by"] == "reporter"
    assert body["filename"] == "rumah saya.jpg"  # a name, never a path
    assert created.headers["location"] == body["url"]

    downloaded = await client.get(body["url"], headers=REPORTER)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "image/jpeg"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert downloaded.headers["content-disposition"].startswith("attachment; filename=")
    image = Image.open(io.BytesIO(downloaded.content))
    image.load()
    assert image.size == (48, 64)  # decodes, upright
    exif = image.getexif()
    assert exif.get_ifd(GPS_IFD) == {}
    assert GPS_IFD not in exif and len(exif) == 0
    assert b"GPS" not in downloaded.content and b"Pabrikan" not in downloaded.content
    # Stored once, by the hash of what is served.
    digest = hashlib.sha256(downloaded.content).hexdigest()
    assert body["sha256"] == digest
    assert [p.name for p in world.files()] == [digest]


def webp_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 200)).save(out, "WEBP", exif=Image.Exif())
    return out.getvalue()


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" * 20


def box(kind: bytes, *content: bytes) -> bytes:
    body = b"".join(content)
    return struct.pack(">I4s", 8 + len(body), kind) + body


LOCATION = b"+48.8584+002.2945+035.000/"
FRAMES = b"\x00\x00\x00\x10frames, as sent" * 16


def video_with_location() -> bytes:
    """What a phone writes: the location in moov/udta (QuickTime's ©xyz) and in moov/meta
    (Apple's ISO 6709 key), the device in a track's udta, XMP in a top-level uuid box."""
    return b"".join(
        [
            box(b"ftyp", b"mp42", b"\x00\x00\x00\x00", b"mp42isom"),
            box(b"uuid", bytes(16), b"<x:xmpmeta>Pabrikan HP</x:xmpmeta>"),
            box(
                b"moov",
                box(b"mvhd", bytes(100)),
                box(b"udta", box(b"\xa9xyz", b"\x00\x1a\x15\xc7", LOCATION)),
                box(b"meta", bytes(4), box(b"keys", b"com.apple.quicktime.location.ISO6709")),
                box(b"trak", box(b"tkhd", bytes(84)), box(b"udta", box(b"\xa9mak", b"Pabrikan"))),
            ),
            # A 64-bit size, as long videos have.
            struct.pack(">I4sQ", 1, b"mdat", 16 + len(FRAMES)) + FRAMES,
        ]
    )


def boxes(content: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int]]:
    """(type, offset) of each box between start and end."""
    found, position, end = [], start, len(content) if end is None else end
    while position < end:
        length, kind = struct.unpack(">I4s", content[position : position + 8])
        if length == 1:
            (length,) = struct.unpack(">Q", content[position + 8 : position + 16])
        found.append((kind, position))
        position += length
    return found


async def test_a_video_keeps_its_frames_and_loses_where_it_was_shot(world: World) -> None:
    complaint = await world.complaint()
    client = world.client()
    sent = video_with_location()

    created = await upload(client, complaint.tracking_id, sent, "jalan.mp4", "video/mp4")

    assert created.status_code == 201, created.text
    back = (await client.get(created.json()["url"], headers=REPORTER)).content
    for secret in (LOCATION, b"ISO6709", b"Pabrikan", b"xmpmeta", b"\xa9xyz"):
        assert secret not in back, secret
    # Every box where it was: the metadata ones now free, the frames untouched.
    assert len(back) == len(sent)
    top = boxes(back)
    assert [kind for kind, _ in top] == [b"ftyp", b"free", b"moov", b"mdat"]
    assert [offset for _, offset in top] == [offset for _, offset in boxes(sent)]
    moov = top[2][1]
    inside = boxes(back, moov + 8, moov + struct.unpack(">I", back[moov : moov + 4])[0])
    assert [kind for kind, _ in inside] == [b"mvhd", b"free", b"free", b"trak"]
    assert back.endswith(FRAMES) and back[: len(sent) - len(FRAMES)].count(b"mvhd") == 1
    assert created.json()["sha256"] == hashlib.sha256(back).hexdigest()


@pytest.mark.parametrize(
    ("content", "filename", "declared", "kind"),
    [
        (photo_with_gps(), "a.JPEG", "image/jpeg", "image/jpeg"),
        (png_bytes(), "a.png", "image/png", "image/png"),
        (webp_bytes(), "a.webp", "application/octet-stream", "image/webp"),
        (pdf_bytes(), "surat", "application/pdf", "application/pdf"),
        (MP4, "video.mp4", "video/mp4", "video/mp4"),
    ],
)
async def test_each_accepted_type_is_stored_with_the_type_its_bytes_say(
    world: World, content: bytes, filename: str, declared: str, kind: str
) -> None:
    complaint = await world.complaint()
    client = world.client()

    added = await upload(client, complaint.tracking_id, content, filename, declared)

    assert added.status_code == 201, added.text
    assert added.json()["content_type"] == kind
    back = await client.get(added.json()["url"], headers=REPORTER)
    assert back.headers["content-type"] == kind
    if kind.startswith("image/"):
        Image.open(io.BytesIO(back.content)).load()  # re-encoded, still an image
    else:
        assert back.content == content  # documents and videos are kept as sent


async def test_the_upload_is_on_the_timeline_for_webhooks_and_stored_once(
    world: World, session: AsyncSession
) -> None:
    complaint = await world.complaint()
    client = world.client()
    first = await upload(client, complaint.tracking_id, pdf_bytes(), "surat.pdf", "application/pdf")
    again = await upload(client, complaint.tracking_id, pdf_bytes(), "lagi.pdf", "application/pdf")

    assert first.status_code == again.status_code == 201, (first.text, again.text)
    events = (
        await session.scalars(
            select(Event)
            .where(Event.complaint_id == complaint.id, Event.type == "complaint.attachment_added")
            .order_by(Event.id)  # UUIDv7: as recorded (unordered, the rows come as they lie)
        )
    ).all()
    assert [e.data["attachment_id"] for e in events] == [first.json()["id"], again.json()["id"]]
    assert events[0].data["content_type"] == "application/pdf"
    assert events[0].data["size"] == 2048
    assert events[0].data["by"] == "reporter"
    assert "surat.pdf" not in str(events[0].data)  # the file name is not spread by webhooks
    assert len(world.files()) == 1  # the same bytes are kept once


async def test_the_list_shows_file_names_to_the_reporter_only(world: World) -> None:
    complaint = await world.complaint()
    added = await upload(
        world.client(), complaint.tracking_id, pdf_bytes(), "KTP Siti.pdf", "application/pdf"
    )
    assert added.status_code == 201, added.text

    mine = await world.client().get(
        f"/api/v1/complaints/{complaint.tracking_id}/attachments", headers=REPORTER
    )
    public = await world.client(STRANGER).get(
        f"/api/v1/complaints/{complaint.tracking_id}/attachments"
    )
    download = await world.client(STRANGER).get(added.json()["url"])

    assert [a["filename"] for a in mine.json()] == ["KTP Siti.pdf"]
    assert [a["filename"] for a in public.json()] == [None]
    assert download.status_code == 200
    assert "KTP" not in download.headers["content-disposition"]
    assert download.content == pdf_bytes()


async def test_a_confidential_complaints_files_reach_only_its_reporter_and_agency(
    world: World,
) -> None:
    complaint = await world.complaint(confidential=True, status="dispositioned")
    await assign(world.session, complaint, "pemda-11.01")
    office = await agency_id(world.session, "pemda-11.01")
    liaison = Principal(
        kind=PrincipalKind.user,
        role=Role.liaison,
        subject=str(uuid.uuid4()),
        agency_id=office,
        agency_ids=(office,),
    )
    added = await upload(world.client(), complaint.tracking_id, png_bytes(), "a.png", "image/png")
    assert added.status_code == 201, added.text
    url = added.json()["url"]

    assert (await world.client(liaison).get(url)).status_code == 200
    assert (await world.client().get(url, headers=REPORTER)).status_code == 200
    for path in (url, f"/api/v1/complaints/{complaint.tracking_id}/attachments"):
        refused = await world.client(STRANGER).get(path)
        assert refused.status_code == 404
        assert refused.json()["code"] == "not_found"


async def test_an_agency_attaches_files_to_its_follow_up(
    world: World, session: AsyncSession
) -> None:
    complaint = await world.complaint(status="responded")
    await assign(session, complaint, "pemda-11.01")
    follow_up = await add_follow_up(session, complaint, "pemda-11.01")
    office = await agency_id(session, "pemda-11.01")
    agency_key = Principal(
        kind=PrincipalKind.api_key,
        role=Role.agency,
        subject="key-1",
        agency_id=office,
        agency_ids=(office,),
    )

    added = await upload(
        world.client(agency_key),
        complaint.tracking_id,
        pdf_bytes(),
        "berita-acara.pdf",
        "application/pdf",
        headers={},
        follow_up_id=str(follow_up.id),
    )

    assert added.status_code == 201, added.text
    assert added.json()["uploaded_by"] == "agency"
    assert added.json()["follow_up_id"] == str(follow_up.id)
    event = await session.scalar(
        select(Event).where(
            Event.type == "complaint.attachment_added", Event.complaint_id == complaint.id
        )
    )
    assert event is not None and event.data["by"] == "agency"
    assert event.actor_role == "agency"


# --- the refused uploads: each a 4xx problem naming what failed, and nothing stored -------------

Send = Callable[[World], Awaitable[tuple[httpx.Response, str]]]


def multipart(parts: list[tuple[str, str | None, str | None, bytes]]) -> tuple[bytes, str]:
    """A hand-built multipart body (name, filename, content type, bytes) and its Content-Type."""
    boundary = "aduan-test-boundary"
    out = b""
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def sends(
    content: bytes,
    filename: str,
    content_type: str,
    principal: Principal = ANONYMOUS,
    *,
    complaint: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Send:
    async def send(world: World) -> tuple[httpx.Response, str]:
        filed = await world.complaint(**(complaint or {}))
        client = world.client(principal, **(settings or {}))
        response = await upload(
            client, filed.tracking_id, content, filename, content_type, headers, **fields
        )
        return response, filed.tracking_id

    return send


def raw(body: bytes, content_type: str, tracking_id: str | None = None) -> Send:
    async def send(world: World) -> tuple[httpx.Response, str]:
        filed = await world.complaint()
        target = tracking_id or filed.tracking_id
        response = await world.client().post(
            f"/api/v1/complaints/{target}/attachments",
            content=body,
            headers={"Content-Type": content_type, **REPORTER},
        )
        return response, target

    return send


async def sixth(world: World) -> tuple[httpx.Response, str]:
    filed = await world.complaint()
    for _ in range(5):
        await add_attachment(world.session, filed)
    response = await upload(world.client(), filed.tracking_id, png_bytes(), "b.png", "image/png")
    return response, filed.tracking_id


async def follow_up_of_another_complaint(world: World) -> tuple[httpx.Response, str]:
    other = await world.complaint(status="responded")
    follow_up = await add_follow_up(world.session, other, "pemda-11.01")
    filed = await world.complaint(status="responded")
    await assign(world.session, filed, "pemda-11.01")
    office = await agency_id(world.session, "pemda-11.01")
    key = Principal(
        kind=PrincipalKind.api_key, role=Role.agency, agency_id=office, agency_ids=(office,)
    )
    response = await upload(
        world.client(key),
        filed.tracking_id,
        pdf_bytes(),
        "a.pdf",
        "application/pdf",
        headers={},
        follow_up_id=str(follow_up.id),
    )
    return response, filed.tracking_id


JPEG = photo_with_gps()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
TRUNCATED, MULTIPART = multipart([("file", "a.png", "image/png", b"x")])
NO_FILE, NO_FILE_TYPE = multipart([("follow_up_id", None, None, b"")])
UNKNOWN_FIELD, UNKNOWN_TYPE = multipart(
    [("catatan", None, None, b"hai"), ("file", "a.pdf", "application/pdf", pdf_bytes())]
)
# A field name outside Latin-1, sent raw in UTF-8 as browsers do (once a 500).
UTF8_FIELD, UTF8_FIELD_TYPE = multipart(
    [("线索", None, None, b"hai"), ("file", "a.pdf", "application/pdf", pdf_bytes())]
)
TWO_FILES, TWO_FILES_TYPE = multipart(
    [("file", "a.pdf", "application/pdf", pdf_bytes()), ("file", "b.pdf", None, pdf_bytes())]
)

# (case, send, status, pointer, field code); a None pointer: a 404 naming the tracking id.
# fmt: off
REFUSED: list[tuple[str, Send, int, str | None, str | None]] = [
    ("png declared as pdf", sends(png_bytes(), "a.pdf", "application/pdf"), 415, "/file",
     "file_type_mismatch"),
    ("png bytes, jpeg extension", sends(png_bytes(), "a.jpg", "application/octet-stream"), 415,
     "/file", "file_type_mismatch"),
    ("an .exe renamed .jpg", sends(EXE, "foto.jpg", "image/jpeg"), 415, "/file",
     "unsupported_file_type"),
    ("html declared an image", sends(HTML, "foto.png", "image/png"), 415, "/file",
     "unsupported_file_type"),
    ("a gif", sends(b"GIF89a" + b"\x00" * 50, "a.gif", "image/gif"), 415, "/file",
     "unsupported_file_type"),
    ("a video whose moov box claims 4 KB", sends(MP4[:24] + struct.pack(">I4s", 4096,
     b"moov") + bytes(40), "a.mp4", "video/mp4"), 422, "/file", "unreadable_file"),
    ("a jpeg that does not decode", sends(b"\xff\xd8\xff\xe0" + b"\x13" * 300, "a.jpg",
     "image/jpeg"), 422, "/file", "unreadable_file"),
    ("oversized", sends(pdf_bytes(5000), "a.pdf", "application/pdf",
     settings={"attachment_max_bytes": 4096}), 413, "/file", "file_too_large"),
    ("a sixth attachment", sixth, 409, "/file", "too_many_attachments"),
    ("an empty file", sends(b"", "a.jpg", "image/jpeg"), 422, "/file", "empty_file"),
    ("no file part", raw(NO_FILE, NO_FILE_TYPE), 422, "/file", "missing"),
    ("two file parts", raw(TWO_FILES, TWO_FILES_TYPE), 422, "/file", "one_file_only"),
    ("an unknown field", raw(UNKNOWN_FIELD, UNKNOWN_TYPE), 422, "/catatan", "unknown_field"),
    ("a field name in UTF-8", raw(UTF8_FIELD, UTF8_FIELD_TYPE), 422, "/线索", "unknown_field"),
    ("malformed multipart", raw(b"no boundary here at all", MULTIPART), 400, "/file",
     "malformed_multipart"),
    ("multipart cut off", raw(TRUNCATED[:-30], MULTIPART), 400, "/file", "malformed_multipart"),
    ("no boundary", raw(TRUNCATED, "multipart/form-data"), 400, "/file", "malformed_multipart"),
    ("json instead of multipart", raw(b'{"file": "x"}', "application/json"), 415, "/file",
     "malformed_multipart"),
    ("wrong tracking id", raw(TRUNCATED, MULTIPART, tracking_id="ADN-NOPE0000"), 404, None, None),
    ("a stranger, confidential complaint", sends(JPEG, "a.jpg", "image/jpeg", STRANGER,
     complaint={"confidential": True}, headers={}), 404, None, None),
    ("a stranger, public complaint", sends(JPEG, "a.jpg", "image/jpeg", STRANGER, headers={}),
     403, None, None),
    ("a wrong reporter token", sends(JPEG, "a.jpg", "image/jpeg",
     headers={"X-Reporter-Token": "rpt_nope"}), 403, None, None),
    ("a closed complaint", sends(JPEG, "a.jpg", "image/jpeg", complaint={"status": "resolved"}),
     409, "/tracking_id", "complaint_closed"),
    ("the reporter naming a follow-up", sends(JPEG, "a.jpg", "image/jpeg",
     follow_up_id=str(uuid.uuid4())), 403, None, None),
    ("an agency's follow-up of another complaint", follow_up_of_another_complaint, 422,
     "/follow_up_id", "unknown_follow_up"),
]
# fmt: on


@pytest.mark.parametrize(
    ("send", "status", "pointer", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSED],
)
async def test_a_refused_upload_names_the_failure_and_stores_nothing(
    world: World, send: Send, status: int, pointer: str | None, code: str | None
) -> None:
    rows_before = await world.rows()

    response, tracking_id = await send(world)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    if pointer is not None:
        assert (pointer, code) in {(e["pointer"], e["code"]) for e in problem["errors"]}
    elif status == 404:
        assert tracking_id in problem["detail"]
    assert await world.rows() == rows_before + (5 if send is sixth else 0)
    assert world.files() == set()
