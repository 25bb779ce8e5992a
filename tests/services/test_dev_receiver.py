import base64
import json
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from services.dev_receiver import create_receiver

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


async def post(secret: str | None, headers: dict[str, str], body: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_receiver(secret))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        return await client.post("/hooks", content=body, headers=headers)


def signed(body: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_1", now, body),
    }


async def test_signed_webhook_is_accepted_and_forged_one_rejected() -> None:
    body = json.dumps({"type": "complaint.verified", "data": {}})
    assert (await post(SECRET, signed(body), body)).status_code == 204
    forged = signed(body) | {"webhook-signature": "v1,AAAA"}
    assert (await post(SECRET, forged, body)).status_code == 400
    assert (await post(None, forged, body)).status_code == 204
