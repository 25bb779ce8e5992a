"""Who is calling: the gateway authenticates, then forwards the principal in a signed header.

Header `X-Aduan-Identity: v1.<unix-ts>.<base64url(json principal)>.<hex hmac-sha256>`, keyed with
ADUAN_INTERNAL_SECRET. Services trust nothing else, so a request that bypasses the gateway is 401.
"""

import base64
import hashlib
import hmac
import json
import time

from pydantic import ValidationError

from services.principal import Principal

IDENTITY_HEADER = "X-Aduan-Identity"


class InvalidIdentity(Exception):
    pass


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign_identity(principal: Principal, secret: str, *, now: float | None = None) -> str:
    ts = int(now if now is not None else time.time())
    payload = base64.urlsafe_b64encode(principal.model_dump_json().encode()).decode().rstrip("=")
    message = f"v1.{ts}.{payload}"
    return f"{message}.{_mac(secret, message)}"


def verify_identity(
    header: str | None, secret: str, *, max_skew: int, now: float | None = None
) -> Principal:
    if not header:
        raise InvalidIdentity("missing identity header")
    parts = header.split(".")
    if len(parts) != 4 or parts[0] != "v1":
        raise InvalidIdentity("malformed identity header")
    _, ts, payload, mac = parts
    if not hmac.compare_digest(_mac(secret, f"v1.{ts}.{payload}"), mac):
        raise InvalidIdentity("bad identity signature")
    try:
        age = abs((now if now is not None else time.time()) - int(ts))
    except ValueError as exc:
        raise InvalidIdentity("bad identity timestamp") from exc
    if age > max_skew:
        raise InvalidIdentity("stale identity header")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return Principal.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise InvalidIdentity("bad identity payload") from exc
