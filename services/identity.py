"""Who is calling: the gateway authenticates, then forwards the principal in a signed header.

    X-Aduan-Identity: v2.<kid>.<iat>.<principal>.<body sha-256>.<signature>

- `principal` is base64url(JSON of services.principal.Principal), `iat` the unix second it was
  signed, `kid` names the gateway key (base64url of the first 6 bytes of SHA-256 of the public
  key), `body sha-256` is base64url of the request body's digest.
- The Ed25519 signature covers all of them together with the request's method, path, query
  string and X-Request-ID, so a header is good for one request only: replayed on another path,
  method, query or body it fails.
- Only the gateway holds the private key (ADUAN_INTERNAL_SIGNING_KEY); the services hold public
  keys (ADUAN_INTERNAL_VERIFY_KEYS, several while the gateway's key rotates) and can verify but
  never sign. A header older than ADUAN_INTERNAL_MAX_AGE_SECONDS, or dated more than
  ADUAN_INTERNAL_CLOCK_SKEW_SECONDS in the future, is refused.

Keys are base64 (standard or url-safe) of the raw 32 bytes; the signing key may also be a PEM
("-----BEGIN PRIVATE KEY-----"). `aduan identity-keys` prints a new pair.
"""

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from services.principal import Principal

IDENTITY_HEADER = "X-Aduan-Identity"
VERSION = "v2"
_CONTEXT = "aduan-identity/v2"


class InvalidIdentity(Exception):
    pass


class InvalidKey(ValueError):
    pass


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    text = text.strip().replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def body_digest(body: bytes) -> str:
    return _b64encode(hashlib.sha256(body).digest())


def b64_digest(sha256: bytes) -> str:
    """The header's form of a body's SHA-256 computed elsewhere (a body read in chunks)."""
    return _b64encode(sha256)


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64encode(hashlib.sha256(raw).digest()[:6])


def load_signing_key(text: str) -> Ed25519PrivateKey:
    """The gateway's private key: base64 of the raw 32 bytes, or a PEM (PKCS#8)."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise InvalidKey("the signing key is not an Ed25519 key")
            return key
        return Ed25519PrivateKey.from_private_bytes(_b64decode(text))
    except (ValueError, TypeError, binascii.Error) as exc:
        if isinstance(exc, InvalidKey):
            raise
        raise InvalidKey(f"not an Ed25519 private key: {exc.__class__.__name__}") from None


def load_verify_keys(text: str) -> list[Ed25519PublicKey]:
    """Comma-separated base64 raw 32-byte Ed25519 public keys."""
    keys = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            keys.append(Ed25519PublicKey.from_public_bytes(_b64decode(part)))
        except (ValueError, binascii.Error):
            raise InvalidKey("a verify key is not base64 of a raw Ed25519 public key") from None
    if not keys:
        raise InvalidKey("no verify key given")
    return keys


def encode_private_key(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode()


def encode_public_key(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def generate_keypair() -> tuple[str, str]:
    """(private, public) as the settings take them: base64 of the raw bytes."""
    key = Ed25519PrivateKey.generate()
    return encode_private_key(key), encode_public_key(key.public_key())


def public_key_of(signing_key: str) -> str:
    return encode_public_key(load_signing_key(signing_key).public_key())


def _message(
    kid: str,
    iat: int,
    method: str,
    path: str,
    query: str,
    request_id: str,
    digest: str,
    principal: str,
) -> bytes:
    # A JSON array: no choice of path or query can shift one field into another.
    fields = [_CONTEXT, kid, iat, method.upper(), path, query, request_id, digest, principal]
    return json.dumps(fields, separators=(",", ":")).encode()


class IdentitySigner:
    """The gateway's half: holds the private key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.kid = key_id(key.public_key())

    @classmethod
    def from_setting(cls, text: str) -> "IdentitySigner":
        return cls(load_signing_key(text))

    def sign(
        self,
        principal: Principal,
        *,
        method: str,
        path: str,
        query: str = "",
        request_id: str = "",
        body: bytes = b"",
        now: float | None = None,
        body_sha256: bytes | None = None,
    ) -> str:
        """`body_sha256`: the body's SHA-256 when it was hashed as it streamed (not in memory)."""
        iat = int(now if now is not None else time.time())
        payload = _b64encode(principal.model_dump_json().encode())
        digest = _b64encode(body_sha256) if body_sha256 is not None else body_digest(body)
        message = _message(self.kid, iat, method, path, query, request_id, digest, payload)
        signature = _b64encode(self._key.sign(message))
        return f"{VERSION}.{self.kid}.{iat}.{payload}.{digest}.{signature}"


@dataclass(frozen=True)
class Verified:
    principal: Principal
    body_sha256: str  # what the body must hash to (checked once it has been read)

    def matches(self, body: bytes) -> bool:
        return body_digest(body) == self.body_sha256


class IdentityVerifier:
    """The services' half: public keys only."""

    def __init__(self, keys: list[Ed25519PublicKey], *, max_age: float, clock_skew: float) -> None:
        self._keys = {key_id(key): key for key in keys}
        self.max_age = max_age
        self.clock_skew = clock_skew

    @classmethod
    def from_setting(cls, text: str, *, max_age: float, clock_skew: float) -> "IdentityVerifier":
        return cls(load_verify_keys(text), max_age=max_age, clock_skew=clock_skew)

    def verify(
        self,
        header: str | None,
        *,
        method: str,
        path: str,
        query: str = "",
        request_id: str = "",
        now: float | None = None,
    ) -> Verified:
        """Checks everything but the body; `Verified.matches(body)` checks that."""
        if not header:
            raise InvalidIdentity("missing identity header")
        parts = header.split(".")
        if len(parts) != 6 or parts[0] != VERSION:
            raise InvalidIdentity("malformed identity header")
        _, kid, iat_text, payload, digest, signature = parts
        key = self._keys.get(kid)
        if key is None:
            raise InvalidIdentity("identity header signed with an unknown key")
        try:
            iat = int(iat_text)
            raw_signature = _b64decode(signature)
        except (ValueError, binascii.Error) as exc:
            raise InvalidIdentity("malformed identity header") from exc
        message = _message(kid, iat, method, path, query, request_id, digest, payload)
        try:
            key.verify(raw_signature, message)
        except InvalidSignature:
            raise InvalidIdentity("bad identity signature") from None
        age = (now if now is not None else time.time()) - iat
        if age > self.max_age:
            raise InvalidIdentity("stale identity header")
        if age < -self.clock_skew:
            raise InvalidIdentity("identity header dated in the future")
        try:
            principal = Principal.model_validate_json(_b64decode(payload))
        except (ValueError, ValidationError, binascii.Error) as exc:
            raise InvalidIdentity("bad identity payload") from exc
        return Verified(principal, digest)


def verify_identity(
    header: str | None,
    verifier: IdentityVerifier,
    *,
    method: str,
    path: str,
    query: str = "",
    request_id: str = "",
    body: bytes = b"",
    now: float | None = None,
) -> Principal:
    """The whole check of one request, body included."""
    verified = verifier.verify(
        header, method=method, path=path, query=query, request_id=request_id, now=now
    )
    if not verified.matches(body):
        raise InvalidIdentity("the body is not the one the identity was signed for")
    return verified.principal


def sign_identity(
    principal: Principal,
    signer: IdentitySigner,
    *,
    method: str,
    path: str,
    query: str = "",
    request_id: str = "",
    body: bytes = b"",
    now: float | None = None,
) -> str:
    return signer.sign(
        principal, method=method, path=path, query=query, request_id=request_id, body=body, now=now
    )
