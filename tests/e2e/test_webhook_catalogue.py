"""The event-type catalogue the gateway serves describes every body a receiver gets (issue 9,
acceptance 5), through every real process. (Every e2e receiver also checks its bodies against
the catalogue: tests/receiver.py.)"""

import json

import httpx
import jsonschema
import pytest
from standardwebhooks import Webhook

from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform
from tests.e2e.test_flow import admin, wait_for_status
from tests.receiver import running_receiver

pytestmark = pytest.mark.e2e


async def test_every_body_received_validates_against_the_served_catalogue(
    platform: Platform, settings: Settings
) -> None:
    async with (
        running_receiver() as receiver,
        httpx.AsyncClient(base_url=platform.gateway, timeout=30) as client,
    ):
        endpoint = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": receiver.url, "region_codes": ["11"]},
            headers=admin(settings),
        )
        assert endpoint.status_code == 201, endpoint.text
        catalogue = await client.get("/api/v1/webhooks/event-types", headers=admin(settings))
        filed = await client.post("/api/v1/complaints", json=complaint_payload())
        tracking_id = filed.json()["tracking_id"]
        await wait_for_status(client, tracking_id, "dispositioned")
        received = await receiver.wait_for(3)
        ping = await client.post(
            f"/api/v1/webhooks/endpoints/{endpoint.json()['id']}/ping", headers=admin(settings)
        )
        received = await receiver.wait_for(4)

    assert catalogue.status_code == 200 and ping.status_code == 202
    schemas = {entry["type"]: entry["schema"] for entry in catalogue.json()}
    webhook = Webhook(endpoint.json()["secret"])
    bodies = [webhook.verify(r.body, r.headers) for r in received]
    for body in bodies:
        jsonschema.validate(body, schemas[body["type"]])
    complaint_bodies = sorted(
        (b for b in bodies if b["data"].get("tracking_id") == tracking_id),
        key=lambda b: b["timestamp"],
    )
    sequences = [b["sequence"] for b in complaint_bodies]
    assert len(sequences) == 3 and sequences == sorted(set(sequences)), sequences
    assert sequences[0] == 1  # submitted: the first event of its complaint
    assert "webhook.ping" in {b["type"] for b in bodies}
    assert "siti@example.id" not in json.dumps(bodies)
