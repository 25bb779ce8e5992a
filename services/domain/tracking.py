"""Tracking ids: `ADN-` and eight Crockford base32 characters and one check character.

The alphabet has no I, L, O or U, so an id read aloud or typed on a phone has no look-alikes
(`normalise` still maps I and L to 1 and O to 0, as Crockford decoding does). The check
character makes a mistyped id fail before any lookup:

    interim = 0; for each character value d: interim = 2·interim ⊕ d   (in GF(32))
    check = the value c with 2·interim ⊕ c = 0, i.e. c = 2·interim

Over the field GF(32) (x⁵ + x² + 1) the operation x∘y = 2x + y is a totally anti-symmetric
quasigroup (Damm's construction), so the check catches every single wrong character
(a change δ at position k changes the result by 2^(n-k)·δ ≠ 0) and every swap of two adjacent
different characters (it changes the result by 2^m·(2 + 1)·(x − y) ≠ 0, in characteristic 2).
tests/intake/test_tracking.py proves both with hypothesis.

Ids filed before the check character existed (eight characters) stay valid as they are.
"""

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass

# The shape routing's paths and bodies accept: `ADN-` and eight characters, plus the check
# character since issue 8 (older ids have none).
TRACKING_ID_PATTERN = r"^[Aa][Dd][Nn]-[0-9A-Za-z]{8,9}$"

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VALUE = {c: i for i, c in enumerate(ALPHABET)}
PREFIX = "ADN-"
BODY_LENGTH = 8  # 32⁸ ≈ 1.1·10¹² ids: collisions are rare and retried
LEGACY_LENGTH = BODY_LENGTH  # ids from before the check character
_MODULUS = 0b100101  # x⁵ + x² + 1, irreducible over GF(2)
# Crockford decoding: what a reader may type for a character the alphabet leaves out.
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def _double(value: int) -> int:
    """2·value in GF(32)."""
    value <<= 1
    return value ^ _MODULUS if value & 0b100000 else value


def _interim(values: list[int]) -> int:
    interim = 0
    for value in values:
        interim = _double(interim) ^ value
    return interim


def check_character(body: str) -> str:
    """The check character of `body` (characters of ALPHABET)."""
    return ALPHABET[_double(_interim([VALUE[c] for c in body]))]


def is_valid(body_with_check: str) -> bool:
    """True when the last character is the check character of the others."""
    if not body_with_check or any(c not in VALUE for c in body_with_check):
        return False
    return _interim([VALUE[c] for c in body_with_check]) == 0


def with_check(body: str) -> str:
    return PREFIX + body + check_character(body)


def normalise(raw: str) -> str:
    """What a person typed, as stored: upper case, prefix added, look-alikes mapped, spaces
    and dashes inside the body dropped (`adn-7k3q x9p2-g` → `ADN-7K3QX9P2G`)."""
    text = raw.strip().upper()
    if text.startswith(PREFIX):
        text = text[len(PREFIX) :]
    elif text.startswith("ADN") and len(text) in {3 + BODY_LENGTH, 4 + BODY_LENGTH}:
        text = text[3:]
    body = text.replace("-", "").replace(" ", "").translate(_ALIASES)
    return PREFIX + body


@dataclass(frozen=True)
class Parsed:
    tracking_id: str  # normalised
    valid: bool  # a known shape whose check character (if it has one) matches
    reason: str | None = None  # why not, for the problem's detail


def parse(raw: str) -> Parsed:
    tracking_id = normalise(raw)
    body = tracking_id[len(PREFIX) :]
    if any(c not in VALUE for c in body):
        return Parsed(tracking_id, False, "a tracking id uses only 0-9 and A-Z without I, L, O, U")
    if len(body) == LEGACY_LENGTH:
        return Parsed(tracking_id, True)
    if len(body) != BODY_LENGTH + 1:
        return Parsed(tracking_id, False, "a tracking id is ADN- and 9 characters")
    if not is_valid(body):
        return Parsed(
            tracking_id,
            False,
            "the check character does not match: a character was mistyped or two swapped",
        )
    return Parsed(tracking_id, True)


class TrackingIds:
    """Makes new ids; `rng` is there so a test can seed it (and so force a collision)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.choice: Callable[[str], str] = rng.choice if rng else secrets.choice

    def new(self) -> str:
        return with_check("".join(self.choice(ALPHABET) for _ in range(BODY_LENGTH)))
