"""Password hashing: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation)."""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
_hasher = PasswordHasher()
# Verified when the email is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no account has this password")


async def hash_password(password: str) -> str:
    # About 50 ms of CPU and 64 MiB: off the event loop, so other requests keep flowing.
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown account) a dummy is checked, so the
    time taken does not tell whether an account exists."""
    matched = await asyncio.to_thread(_verify, password_hash or _DUMMY_HASH, password)
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (upgraded on login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
