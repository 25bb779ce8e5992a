"""Where attachment files live: a small interface with a local-filesystem implementation (the
default, under ADUAN_MEDIA_DIR) and an S3-compatible one for deployments (ADUAN_MEDIA_STORAGE=s3).

Files are stored by content: the key is the SHA-256 (hex) of the bytes, so a file uploaded twice
is kept once and a key can never be a path a client chose. Metadata (the original name, the
type, who uploaded it) is in the database, never in the store."""

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import quote

import aiohttp
import yarl

from services.settings import Settings
from services.uploads import CHUNK

KEY = re.compile(r"^[0-9a-f]{64}$")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class MissingMedia(Exception):
    """The store has no file under this key."""


def _checked(key: str) -> str:
    if not KEY.match(key):
        raise ValueError("a media key is the sha-256 hex digest of the content")
    return key


class MediaStorage(Protocol):
    async def put(self, key: str, source: IO[bytes], *, size: int, content_type: str) -> None:
        """Store `size` bytes read from `source` (at its start) under `key`, their sha-256.
        Storing a key that is there already changes nothing."""

    async def exists(self, key: str) -> bool: ...

    def stream(self, key: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks; MissingMedia if it is not there."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; a missing one is no error."""


class LocalStorage:
    """Files under `root/ab/cd/<key>`; a write goes to `root/.incoming` first and is renamed into
    place, so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key[2:4] / key

    async def put(self, key: str, source: IO[bytes], *, size: int, content_type: str) -> None:
        await asyncio.to_thread(self._put, self.path(key), source)

    def _put(self, target: Path, source: IO[bytes]) -> None:
        if target.exists():
            return
        incoming = self.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        fd, scratch = tempfile.mkstemp(dir=incoming)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(scratch, target)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self.path(key).open, "rb")
        except FileNotFoundError as exc:
            raise MissingMedia(key) from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)


class S3Storage:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, moto), path-style URLs, AWS Signature
    Version 4 signed with the content's own sha-256 (which is its key). One HTTP session per
    call: uploads are rare next to the API's other requests."""

    def __init__(
        self, endpoint: str, bucket: str, region: str, access_key: str, secret_key: str
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key

    def _path(self, key: str) -> str:
        return f"/{quote(self.bucket, safe='')}/{_checked(key)}"

    def signed_headers(
        self, method: str, path: str, payload_sha256: str, now: dt.datetime | None = None
    ) -> dict[str, str]:
        now = now or dt.datetime.now(dt.UTC)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        host = yarl.URL(self.endpoint).raw_authority
        headers = {"host": host, "x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date}
        names = sorted(headers)
        canonical = "\n".join(
            [
                method,
                path,
                "",
                "".join(f"{name}:{headers[name]}\n" for name in names),
                ";".join(names),
                payload_sha256,
            ]
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        del headers["host"]  # aiohttp sends the same Host itself
        return headers

    async def put(self, key: str, source: IO[bytes], *, size: int, content_type: str) -> None:
        path = self._path(key)
        headers = self.signed_headers("PUT", path, key)
        headers |= {"content-length": str(size), "content-type": content_type}

        async def body() -> AsyncIterator[bytes]:
            source.seek(0)
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                yield chunk

        async with (
            aiohttp.ClientSession() as session,
            session.put(self.endpoint + path, data=body(), headers=headers) as answer,
        ):
            if answer.status >= 300:
                raise OSError(f"S3 PUT {key}: {answer.status} {await answer.text()}")

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        headers = self.signed_headers("HEAD", path, EMPTY_SHA256)
        async with (
            aiohttp.ClientSession() as session,
            session.head(self.endpoint + path, headers=headers) as answer,
        ):
            return answer.status == 200

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        headers = self.signed_headers("GET", path, EMPTY_SHA256)
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.endpoint + path, headers=headers) as answer,
        ):
            if answer.status == 404:
                raise MissingMedia(key)
            if answer.status >= 300:
                raise OSError(f"S3 GET {key}: {answer.status}")
            async for chunk in answer.content.iter_chunked(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        path = self._path(key)
        headers = self.signed_headers("DELETE", path, EMPTY_SHA256)
        async with (
            aiohttp.ClientSession() as session,
            session.delete(self.endpoint + path, headers=headers) as answer,
        ):
            if answer.status >= 300 and answer.status != 404:
                raise OSError(f"S3 DELETE {key}: {answer.status}")


def storage_for(settings: Settings) -> MediaStorage:
    if settings.media_storage == "s3":
        secret = settings.media_s3_secret_access_key
        if not (
            settings.media_s3_endpoint_url
            and settings.media_s3_bucket
            and settings.media_s3_access_key_id
            and secret is not None
        ):
            raise RuntimeError(
                "ADUAN_MEDIA_STORAGE=s3 needs ADUAN_MEDIA_S3_ENDPOINT_URL, _BUCKET, "
                "_ACCESS_KEY_ID and _SECRET_ACCESS_KEY"
            )
        return S3Storage(
            settings.media_s3_endpoint_url,
            settings.media_s3_bucket,
            settings.media_s3_region,
            settings.media_s3_access_key_id,
            secret.get_secret_value(),
        )
    return LocalStorage(settings.media_dir)
