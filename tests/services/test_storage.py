"""The media stores: the local one on a real directory, the S3 one against a real S3 server on
loopback (moto's server mode), and its request signatures against botocore's own signer."""

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer

from services.storage import LocalStorage, MediaStorage, MissingMedia, S3Storage

CONTENT = b"%PDF-1.4\n" + bytes(range(256)) * 700  # several stream chunks
KEY = hashlib.sha256(CONTENT).hexdigest()
ACCESS, SECRET = "AKIDADUANTEST", "rahasia-s3-uji"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
    ).create_bucket(Bucket="aduan-media")
    yield endpoint
    server.stop()


async def collect(storage: MediaStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.stream(key)])


async def round_trip(storage: MediaStorage) -> None:
    assert not await storage.exists(KEY)
    await storage.put(KEY, io.BytesIO(CONTENT), size=len(CONTENT), content_type="application/pdf")
    await storage.put(KEY, io.BytesIO(CONTENT), size=len(CONTENT), content_type="application/pdf")
    assert await storage.exists(KEY)
    assert await collect(storage, KEY) == CONTENT
    await storage.delete(KEY)
    assert not await storage.exists(KEY)
    with pytest.raises(MissingMedia):
        await collect(storage, KEY)


async def test_local_storage_keeps_files_by_their_hash(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    await storage.put(KEY, io.BytesIO(CONTENT), size=len(CONTENT), content_type="application/pdf")

    assert (tmp_path / KEY[:2] / KEY[2:4] / KEY).read_bytes() == CONTENT
    assert list((tmp_path / ".incoming").iterdir()) == []  # no half-written leftovers
    await storage.delete(KEY)
    await round_trip(storage)


async def test_a_key_is_a_hash_never_a_path(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    for key in ("../../etc/passwd", KEY.upper(), KEY[:-1] + "/"):
        with pytest.raises(ValueError):
            await storage.exists(key)


async def test_s3_storage_round_trips_through_a_real_s3_server(s3_endpoint: str) -> None:
    storage = S3Storage(s3_endpoint, "aduan-media", "us-east-1", ACCESS, SECRET)
    await storage.put(KEY, io.BytesIO(CONTENT), size=len(CONTENT), content_type="application/pdf")

    # What another S3 client sees of it.
    other = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
    )
    stored = other.get_object(Bucket="aduan-media", Key=KEY)
    assert stored["Body"].read() == CONTENT
    assert stored["ContentType"] == "application/pdf"
    await storage.delete(KEY)
    await round_trip(storage)


@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "DELETE"])
def test_s3_requests_are_signed_as_botocore_signs_them(method: str) -> None:
    endpoint = "https://s3.ap-southeast-3.amazonaws.com"
    storage = S3Storage(endpoint, "aduan-media", "ap-southeast-3", ACCESS, SECRET)
    payload = KEY if method == "PUT" else hashlib.sha256(b"").hexdigest()
    request = AWSRequest(
        method=method,
        url=f"{endpoint}/aduan-media/{KEY}",
        data=CONTENT if method == "PUT" else b"",
    )
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "ap-southeast-3").add_auth(request)
    when = dt.datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=dt.UTC
    )

    ours = storage.signed_headers(method, f"/aduan-media/{KEY}", payload, now=when)

    assert ours["authorization"] == request.headers["Authorization"]
