"""The webhook row of the privacy matrix, through every real process: what a receiving system
learns of anonymous and confidential complaints, and that the tracking id it is given does
not open a confidential complaint's content to it."""

import json

import httpx
import pytest
from standardwebhooks import Webhook

from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.e2e.test_flow import admin, wait_for_status
from tests.receiver import running_receiver

pytestmark = pytest.mark.e2e

FLAGS = [(False, False), (True, False), (False, True), (True, True)]  # (anonymous, confidential)
TITLE = "Pungutan liar di kantor kelurahan"
DESCRIPTION = "Petugas meminta uang tambahan untuk surat pengantar yang seharusnya gratis."


async def test_receivers_learn_no_identity_and_no_confidential_content(
    platform: Platform, settings: Settings
) -> None:
    async with (
        running_receiver() as receiver,
        httpx.AsyncClient(base_url=platform.gateway) as client,
    ):
        endpoint = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": receiver.url, "region_codes": ["13"]},
            headers=admin(settings),
        )
        assert endpoint.status_code == 201, endpoint.text
        filed: dict[str, tuple[bool, bool]] = {}
        for anonymous, confidential in FLAGS:
            created = await client.post(
                "/api/v1/complaints",
                json=complaint_payload(
                    region_code="13.01",
                    title=TITLE,
                    description=DESCRIPTION,
                    address="Jl. Rumah Pelapor No. 7",
                    anonymous=anonymous,
                    confidential=confidential,
                ),
            )
            assert created.status_code == 201, created.text
            filed[created.json()["tracking_id"]] = (anonymous, confidential)
        for tracking_id in filed:
            await wait_for_status(client, tracking_id, "dispositioned")
        # submitted, verified, dispositioned for each of the four
        deliveries = await receiver.wait_for(3 * len(filed))

        webhook = Webhook(endpoint.json()["secret"])
        bodies = [webhook.verify(d.body, d.headers) for d in deliveries]
        assert {b["data"]["tracking_id"] for b in bodies} == set(filed)
        for body in bodies:
            anonymous, confidential = filed[body["data"]["tracking_id"]]
            text = json.dumps(body, ensure_ascii=False)
            # Who reported and how to reach them never leave the platform.
            for personal in ("Siti", "siti@example.id", "6281234567890", "rpt_"):
                assert personal not in text, (body["type"], anonymous, confidential)
            # The content travels only when it is not confidential.
            assert (DESCRIPTION in text) is not confidential
            assert (TITLE in text) is not confidential
            assert "Jl. Rumah Pelapor" not in text
            assert body["data"]["anonymous"] is anonymous
            assert body["data"]["confidential"] is confidential

        # The receiver holds the tracking ids; with them (and no credentials) it sees a
        # confidential complaint's status, never its content.
        for tracking_id, (_anonymous, confidential) in filed.items():
            seen = await client.get(f"/api/v1/complaints/{tracking_id}")
            assert seen.status_code == 200
            assert (DESCRIPTION in seen.text) is not confidential
            assert seen.json()["status"] == "dispositioned"
            assert "siti@example.id" not in seen.text
