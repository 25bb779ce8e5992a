"""TOTP second factor (RFC 6238, pyotp): 30 s steps, one step of clock drift either way."""

import time

import pyotp

ISSUER_NAME = "Aduan"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI authenticator apps read (usually shown as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER_NAME)


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step `code` is valid for (now, or one step before or after), else None.

    The caller accepts a step only once, and only when later than the last accepted one, so a
    code seen over someone's shoulder cannot be used again."""
    code = code.strip()
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    at = time.time() if now is None else now
    current = totp.timecode(at)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None
