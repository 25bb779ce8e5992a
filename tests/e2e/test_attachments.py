"""Attachments through the real gateway and intake processes: multipart and bodies larger than
the JSON limit pass the gateway, a photo's location does not survive, refused files leave
nothing behind."""

import asyncio
import hashlib
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.factories import photo_with_gps

pytestmark = pytest.mark.e2e
GPS_IFD = 0x8825


def stored(media: Path) -> set[Path]:
    return {p for p in media.rglob("*") if p.is_file()} if media.exists() else set()


async def file_complaint(client: httpx.AsyncClient, **fields: object) -> tuple[str, str]:
    created = await client.post("/api/v1/complaints", json=complaint_payload(**fields))
    assert created.status_code == 201, created.text
    return created.json()["tracking_id"], created.json()["reporter_token"]


async def test_a_photo_uploaded_through_the_gateway_comes_back_without_its_location(
    platform: Platform,
) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=30) as client:
        tracking_id, token = await file_complaint(client)
        reporter = {"X-Reporter-Token": token}

        added = await client.post(
            f"/api/v1/complaints/{tracking_id}/attachments",
            files={"file": ("IMG_2031.jpg", photo_with_gps(orientation=6), "image/jpeg")},
            headers=reporter,
        )
        assert added.status_code == 201, added.text
        downloaded = await client.get(added.json()["url"], headers=reporter)
        listed = await client.get(f"/api/v1/complaints/{tracking_id}/attachments")
        tracked = await client.get(f"/api/v1/complaints/{tracking_id}")

    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "image/jpeg"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert 'filename="IMG_2031.jpg"' in downloaded.headers["content-disposition"]
    image = Image.open(io.BytesIO(downloaded.content))
    image.load()
    assert image.size == (48, 64)
    assert image.getexif().get_ifd(GPS_IFD) == {} and len(image.getexif()) == 0
    assert b"GPS" not in downloaded.content
    assert [a["id"] for a in listed.json()] == [added.json()["id"]]
    assert "complaint.attachment_added" in [e["type"] for e in tracked.json()["timeline"]]
    digest = hashlib.sha256(downloaded.content).hexdigest()
    assert digest in {p.name for p in stored(platform.media_dir)}


async def test_files_larger_than_the_json_limit_pass_and_oversized_ones_store_nothing(
    platform: Platform, settings: Settings
) -> None:
    # Bigger than ADUAN_MAX_BODY_BYTES (1 MiB): only the upload route takes it.
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * (3 * 4096)
    assert len(pdf) > settings.max_body_bytes
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=60) as client:
        tracking_id, token = await file_complaint(client)
        url = f"/api/v1/complaints/{tracking_id}/attachments"
        reporter = {"X-Reporter-Token": token}

        added = await client.post(
            url, files={"file": ("surat.pdf", pdf, "application/pdf")}, headers=reporter
        )
        assert added.status_code == 201, added.text
        back = await client.get(added.json()["url"], headers=reporter)
        assert back.content == pdf

        before = stored(platform.media_dir)
        # Over ADUAN_ATTACHMENT_MAX_BYTES, within the upload body limit: intake refuses it.
        over_file = b"%PDF-1.7\n" + b"0" * settings.attachment_max_bytes
        refused_file = await client.post(
            url, files={"file": ("besar.pdf", over_file, "application/pdf")}, headers=reporter
        )
        # Over the upload body limit: the gateway refuses it before intake sees it.
        over_body = b"%PDF-1.7\n" + b"0" * settings.upload_max_body_bytes
        refused_body = await client.post(
            url, files={"file": ("besar.pdf", over_body, "application/pdf")}, headers=reporter
        )
        # The JSON API keeps its own limit.
        big_json = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(description="x" * (settings.max_body_bytes + 10)),
        )
        listed = await client.get(url, headers=reporter)

    assert refused_file.status_code == 413, refused_file.text
    assert ("/file", "file_too_large") in {
        (e["pointer"], e["code"]) for e in refused_file.json()["errors"]
    }
    assert refused_body.status_code == 413
    assert refused_body.json()["code"] == "payload_too_large"
    assert "file_too_large" not in refused_body.text  # the gateway's answer, not intake's
    assert big_json.status_code == 413
    assert len(listed.json()) == 1
    assert stored(platform.media_dir) == before


async def test_a_confidential_complaints_files_are_not_found_by_strangers(
    platform: Platform,
) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=30) as client:
        tracking_id, token = await file_complaint(client, confidential=True)
        added = await client.post(
            f"/api/v1/complaints/{tracking_id}/attachments",
            files={"file": ("a.jpg", photo_with_gps(), "image/jpeg")},
            headers={"X-Reporter-Token": token},
        )
        assert added.status_code == 201, added.text

        listing = await client.get(f"/api/v1/complaints/{tracking_id}/attachments")
        download = await client.get(added.json()["url"])
        upload = await client.post(
            f"/api/v1/complaints/{tracking_id}/attachments",
            files={"file": ("b.jpg", photo_with_gps(), "image/jpeg")},
        )

    assert listing.status_code == download.status_code == upload.status_code == 404


async def test_uploads_at_the_same_moment_never_pass_the_limit(
    platform: Platform, settings: Settings
) -> None:
    limit = settings.attachment_max_per_complaint
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=60) as client:
        tracking_id, token = await file_complaint(client)
        url = f"/api/v1/complaints/{tracking_id}/attachments"
        reporter = {"X-Reporter-Token": token}
        for i in range(limit - 1):
            pdf = b"%PDF-1.4\n" + str(i).encode() * 100
            added = await client.post(
                url, files={"file": ("a.pdf", pdf, "application/pdf")}, headers=reporter
            )
            assert added.status_code == 201, added.text

        # Three at once for the last place.
        answers = await asyncio.gather(
            *(
                client.post(
                    url,
                    files={
                        "file": ("b.pdf", b"%PDF-1.4\n" + bytes([65 + i]) * 500, "application/pdf")
                    },
                    headers=reporter,
                )
                for i in range(3)
            )
        )
        listed = await client.get(url, headers=reporter)

    assert sorted(a.status_code for a in answers) == [201, 409, 409]
    assert len(listed.json()) == limit
