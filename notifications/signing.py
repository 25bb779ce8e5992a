"""Standard Webhooks secrets, bodies and signatures (https://www.standardwebhooks.com)."""

import base64
import math
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
USER_AGENT = "Aduan-Webhooks/0.1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def signed_headers(
    secret: str,
    message_id: str,
    sent_at: datetime,
    body: str,
    *,
    previous_secret: str | None = None,
) -> dict[str, str]:
    """Headers of one attempt. `message_id` stays the same across retries so receivers can
    de-duplicate; the timestamp is the attempt's own, so a replayed old request is refused.
    During a rotation's grace both secrets sign: the signatures are space-separated, and a
    receiver holding either secret verifies."""
    sent_at = sent_at.astimezone(UTC)  # sign() reads the datetime as UTC whatever its zone
    keys = [secret] if previous_secret is None else [secret, previous_secret]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(sent_at.timestamp())),
        "webhook-signature": " ".join(Webhook(key).sign(message_id, sent_at, body) for key in keys),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
