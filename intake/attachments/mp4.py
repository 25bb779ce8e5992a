"""MP4 videos are kept as sent but for their metadata: phones write where a video was shot
(QuickTime's `©xyz` in `udta`, Apple's `com.apple.quicktime.location.ISO6709` in `meta`), on
what device and by whom (XMP in a `uuid` box).

Each `udta`, `meta` and `uuid` box at the top of the file, in `moov` and in each `trak` becomes
a `free` box of the same size with its content zeroed. Nothing else changes: the sample tables
point into `mdat` by absolute offsets, so no box may move, and players skip `free` boxes
(ISO/IEC 14496-12 allows them in any container)."""

import struct
from collections.abc import Iterator
from typing import IO

from services.problems import ProblemError

HIDDEN = frozenset({b"udta", b"meta", b"uuid"})
CONTAINERS = frozenset({b"moov", b"trak"})
ZEROS = bytes(64 * 1024)


def scrub_mp4(source: IO[bytes], size: int) -> None:
    """Hide the metadata boxes in place (`source` is the upload's own scratch file). Blocking:
    run it in a thread. A box structure that does not add up is a 422 `unreadable_file`."""
    _scrub(source, 0, size)
    source.seek(0)


def _scrub(source: IO[bytes], start: int, end: int) -> None:
    for box, header, box_end, kind in _boxes(source, start, end):
        if kind in HIDDEN:
            source.seek(box + 4)
            source.write(b"free")
            source.seek(box + header)
            left = box_end - box - header
            while left > 0:
                left -= source.write(ZEROS[: min(left, len(ZEROS))])
        elif kind in CONTAINERS:
            _scrub(source, box + header, box_end)


def _boxes(source: IO[bytes], start: int, end: int) -> Iterator[tuple[int, int, int, bytes]]:
    """(start, header length, end, type) of each box between start and end."""
    position = start
    while position < end:
        source.seek(position)
        head = source.read(8)
        if len(head) < 8 or end - position < 8:
            raise _unreadable()
        length, kind = struct.unpack(">I4s", head)
        header = 8
        if length == 1:  # a 64-bit size follows the type
            wide = source.read(8)
            if len(wide) < 8:
                raise _unreadable()
            (length,) = struct.unpack(">Q", wide)
            header = 16
        elif length == 0:  # up to the end of its container
            length = end - position
        if length < header or position + length > end:
            raise _unreadable()
        yield position, header, position + length, kind
        position += length


def _unreadable() -> ProblemError:
    return ProblemError(
        "validation_failed",
        "the video cannot be read: its boxes do not add up",
        errors=[("/file", "unreadable_file")],
    )
