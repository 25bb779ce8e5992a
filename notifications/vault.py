"""Endpoint secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under keys from
configuration (`ADUAN_WEBHOOK_SECRET_KEYS`). MultiFernet: the first key encrypts, every key
decrypts, so a key is rotated by putting a new one first, re-encrypting at leisure (a secret
rotation does), and dropping the old one later.

A stored value without the `enc:` prefix is a plain `whsec_` secret from before encryption
(migration 0012 could not encrypt without the key); it is read as is.
"""

import base64
import hashlib
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.logging import get_logger

log = get_logger(__name__)
PREFIX = "enc:"
# Development only: without configured keys secrets are still not stored in clear, but anyone
# with the source can decrypt them. Production sets ADUAN_WEBHOOK_SECRET_KEYS.
DEVELOPMENT_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"aduan-development-only").digest())


class SecretUnreadable(Exception):
    """No configured key decrypts the stored secret."""


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        log.warning("ADUAN_WEBHOOK_SECRET_KEYS unset: endpoint secrets use the development key")
        return MultiFernet([Fernet(DEVELOPMENT_KEY)])
    return MultiFernet([Fernet(key.encode()) for key in keys])


def new_key() -> str:
    """A key for ADUAN_WEBHOOK_SECRET_KEYS."""
    return Fernet.generate_key().decode()


def seal(keys: Sequence[str], secret: str) -> str:
    """`keys`: ADUAN_WEBHOOK_SECRET_KEYS."""
    return PREFIX + _fernet(tuple(keys)).encrypt(secret.encode()).decode()


def unseal(keys: Sequence[str], stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet(tuple(keys)).decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("no key of ADUAN_WEBHOOK_SECRET_KEYS decrypts it") from exc
