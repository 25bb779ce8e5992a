"""Facts about Kemendagri region codes: levels, parents, and each province's time zone."""

WIT_PROVINCES = frozenset({"81", "82", "91", "92", "93", "94", "95", "96"})
WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})


def parent_code(code: str) -> str | None:
    head, _, _ = code.rpartition(".")
    return head or None


def province_code(code: str) -> str:
    return code.split(".")[0]


def regency_code(code: str) -> str | None:
    """The kabupaten/kota a code lies in (itself at that level), None for a province code."""
    parts = code.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


def timezone_of(code: str) -> str:
    """WIB, WITA or WIT as an IANA zone, by the province of a region code."""
    province = province_code(code)
    if province in WIT_PROVINCES:
        return "Asia/Jayapura"
    if province in WITA_PROVINCES:
        return "Asia/Makassar"
    return "Asia/Jakarta"


def covers(scope: str, code: str) -> bool:
    """True when region `code` lies inside (or is) region `scope`."""
    return code == scope or code.startswith(scope + ".")
