"""Reading one upload, before anything is stored: the multipart body parsed as it streams in
(python-multipart), the file part written to a scratch file with a running size check that stops
at the limit, the type decided by the file's first bytes (what the client declared must agree),
images re-encoded without their metadata (no EXIF, so no GPS position survives), and the
client's file name kept as sanitised text only."""

import enum
import hashlib
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from services.problems import ProblemError
from services.uploads import CHUNK, spool

FILE_FIELD = "file"
# The text fields an upload may carry, with their longest value.
TEXT_FIELDS = {"follow_up_id": 64}
MAX_PART_HEADERS = 8_192


class MediaKind(enum.StrEnum):
    jpeg = "image/jpeg"
    png = "image/png"
    webp = "image/webp"
    pdf = "application/pdf"
    mp4 = "video/mp4"

    @property
    def is_image(self) -> bool:
        return self in {MediaKind.jpeg, MediaKind.png, MediaKind.webp}

    @property
    def extension(self) -> str:
        return EXTENSIONS[self][0]


# What a client may declare for each kind (Content-Type of the part, file name extension).
DECLARED: dict[MediaKind, frozenset[str]] = {
    MediaKind.jpeg: frozenset({"image/jpeg", "image/jpg", "image/pjpeg"}),
    MediaKind.png: frozenset({"image/png"}),
    MediaKind.webp: frozenset({"image/webp"}),
    MediaKind.pdf: frozenset({"application/pdf"}),
    MediaKind.mp4: frozenset({"video/mp4"}),
}
EXTENSIONS: dict[MediaKind, tuple[str, ...]] = {
    MediaKind.jpeg: ("jpg", "jpeg", "jpe", "jfif"),
    MediaKind.png: ("png",),
    MediaKind.webp: ("webp",),
    MediaKind.pdf: ("pdf",),
    MediaKind.mp4: ("mp4", "m4v"),
}
# Declaring these claims nothing: the bytes decide.
NEUTRAL_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# ISO base media brands of MP4 video (QuickTime's "qt  " and HEIF images are not MP4).
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
)
PILLOW_FORMATS = {MediaKind.jpeg: "JPEG", MediaKind.png: "PNG", MediaKind.webp: "WEBP"}


def sniff(head: bytes) -> MediaKind | None:
    """The kind of a file by its first bytes (magic numbers), or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind.png
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.webp
    if head.startswith(b"%PDF-"):
        return MediaKind.pdf
    if head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return MediaKind.mp4
    return None


def sanitise_filename(name: str | None) -> str | None:
    """The last path segment, NFKC, letters, digits and ` ._-()` only, ≤ 120 characters; None
    when nothing is left. Metadata only: never a path."""
    if not name:
        return None
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in name).strip(" ._")
    if not name:
        return None
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 119 - len(ext)] + "." + ext if dot and len(ext) <= 10 else name[:120]
    return name


def _extension(name: str | None) -> str | None:
    if not name or "." not in name:
        return None
    return name.rsplit(".", 1)[1].lower()


@dataclass
class Upload:
    """A parsed upload: the file in a scratch file (closed by `close`)."""

    file: IO[bytes]
    size: int
    declared_type: str
    filename: str | None  # sanitised
    fields: dict[str, str] = field(default_factory=dict)
    kind: MediaKind | None = None
    sha256: str = ""

    def close(self) -> None:
        self.file.close()


class _Parts:
    """python-multipart callbacks: one file part into a scratch file, small text fields."""

    def __init__(self, max_file: int) -> None:
        self.max_file = max_file
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.name: str | None = None
        self.text = bytearray()
        self.file: IO[bytes] | None = None
        self.size = 0
        self.declared_type = ""
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self.ended = False

    def on_part_begin(self) -> None:
        self.headers = {}
        self.header_bytes = 0
        self.name = None
        self.text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]
        self._count(end - start)

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]
        self._count(end - start)

    def _count(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > MAX_PART_HEADERS:
            raise malformed("part headers too long")

    def on_header_end(self) -> None:
        name = bytes(self.header_name).decode("latin-1").strip().lower()
        # Byte for byte (latin-1): parse_options_header encodes back to latin-1, and the UTF-8
        # names and file names browsers send raw are decoded from its bytes below.
        self.headers[name] = bytes(self.header_value).decode("latin-1").strip()
        self.header_name = bytearray()
        self.header_value = bytearray()

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self.headers.get("content-disposition", ""))
        raw_name = options.get(b"name")
        if disposition != b"form-data" or raw_name is None:
            raise malformed("a part without a form-data name")
        self.name = raw_name.decode("utf-8", "replace")
        if self.name == FILE_FIELD:
            if self.file is not None:
                raise ProblemError("validation_failed", errors=[("/file", "one_file_only")])
            self.file = spool()
            raw_filename = options.get(b"filename")
            self.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
            content_type, _ = parse_options_header(self.headers.get("content-type", ""))
            self.declared_type = content_type.decode("latin-1").lower()
        elif self.name not in TEXT_FIELDS:
            raise ProblemError("validation_failed", errors=[(f"/{self.name}", "unknown_field")])

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.name == FILE_FIELD:
            assert self.file is not None
            self.size += end - start
            if self.size > self.max_file:
                raise ProblemError(
                    "payload_too_large",
                    f"the limit is {self.max_file} bytes per file",
                    errors=[("/file", "file_too_large")],
                )
            self.file.write(data[start:end])
        elif self.name is not None:
            self.text += data[start:end]
            if len(self.text) > TEXT_FIELDS[self.name]:
                raise ProblemError("validation_failed", errors=[(f"/{self.name}", "too_long")])

    def on_part_end(self) -> None:
        if self.name in TEXT_FIELDS:
            self.fields[self.name] = self.text.decode("utf-8", "replace").strip()

    def on_end(self) -> None:
        self.ended = True


def malformed(detail: str) -> ProblemError:
    return ProblemError("bad_request", detail, errors=[("/file", "malformed_multipart")])


async def read_upload(
    stream: AsyncIterator[bytes], content_type: str | None, max_file: int
) -> Upload:
    """Parse a multipart/form-data body as it arrives. Refuses (ProblemError) a body that is not
    multipart, is malformed, carries an unknown field, no file, an empty file, or a file over
    `max_file` bytes (as soon as it grows past it)."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise ProblemError(
            "unsupported_media_type",
            "send the file as multipart/form-data",
            errors=[("/file", "malformed_multipart")],
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise malformed("the multipart boundary is missing")
    parts = _Parts(max_file)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": parts.on_part_begin,
            "on_part_data": parts.on_part_data,
            "on_part_end": parts.on_part_end,
            "on_header_field": parts.on_header_field,
            "on_header_value": parts.on_header_value,
            "on_header_end": parts.on_header_end,
            "on_headers_finished": parts.on_headers_finished,
            "on_end": parts.on_end,
        },
    )
    try:
        async for chunk in stream:
            if chunk:
                parser.write(chunk)
        parser.finalize()
        if not parts.ended:
            raise malformed("the body ends before the closing boundary")
        if parts.file is None:
            raise ProblemError("validation_failed", errors=[("/file", "missing")])
        if parts.size == 0:
            raise ProblemError("validation_failed", errors=[("/file", "empty_file")])
    except MultipartParseError as exc:
        if parts.file is not None:
            parts.file.close()
        raise malformed(f"not a readable multipart body: {exc}") from exc
    except BaseException:
        if parts.file is not None:
            parts.file.close()
        raise
    return Upload(
        file=parts.file,
        size=parts.size,
        declared_type=parts.declared_type,
        filename=sanitise_filename(parts.filename),
        fields=parts.fields,
    )


def decide_kind(upload: Upload) -> MediaKind:
    """The kind by the file's magic bytes; the declared type and extension must agree."""
    upload.file.seek(0)
    kind = sniff(upload.file.read(16))
    if kind is None:
        raise ProblemError(
            "unsupported_media_type",
            "only JPEG, PNG, WebP, PDF and MP4 files are accepted",
            errors=[("/file", "unsupported_file_type")],
        )
    declared = upload.declared_type
    extension = _extension(upload.filename)
    if (declared not in NEUTRAL_TYPES and declared not in DECLARED[kind]) or (
        extension is not None and extension not in EXTENSIONS[kind]
    ):
        raise ProblemError(
            "unsupported_media_type",
            f"the file is {kind.value}; the declared type or file name says otherwise",
            errors=[("/file", "file_type_mismatch")],
        )
    return kind


def reencode_image(source: IO[bytes], kind: MediaKind, max_pixels: int) -> tuple[IO[bytes], int]:
    """The image decoded and written again with its orientation applied and no metadata at all
    (EXIF with its GPS IFD, XMP, comments, text chunks). Blocking: run it in a thread."""
    source.seek(0)
    try:
        with Image.open(source, formats=[PILLOW_FORMATS[kind]]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ProblemError(
                    "validation_failed",
                    f"the image has {width}×{height} pixels; at most {max_pixels}",
                    errors=[("/file", "image_too_large")],
                )
            image.load()
            upright = ImageOps.exif_transpose(image)
            # Nothing of the original's metadata is written back but how to show the pixels.
            icc = upright.info.get("icc_profile")
            upright.info = {k: v for k, v in upright.info.items() if k == "transparency"}
            out = spool()
            extra = {"icc_profile": icc} if icc else {}
            if kind is MediaKind.jpeg:
                upright.save(out, "JPEG", quality=90, **extra)
            elif kind is MediaKind.png:
                upright.save(out, "PNG", **extra)
            else:
                upright.save(out, "WEBP", quality=90, **extra)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ProblemError(
            "validation_failed",
            "the image cannot be decoded",
            errors=[("/file", "unreadable_file")],
        ) from None
    size = out.tell()
    return out, size


def digest(source: IO[bytes]) -> str:
    """SHA-256 (hex) of the whole file. Blocking: run it in a thread."""
    source.seek(0)
    hasher = hashlib.sha256()
    while chunk := source.read(CHUNK):
        hasher.update(chunk)
    return hasher.hexdigest()
