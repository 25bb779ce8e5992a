import pytest

from services.identity import InvalidIdentity, sign_identity, verify_identity
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role

SECRET = "s3cret"
ADMIN = Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="admin")


def test_a_signed_principal_round_trips() -> None:
    header = sign_identity(ADMIN, SECRET, now=1_000)
    assert verify_identity(header, SECRET, max_skew=60, now=1_030) == ADMIN


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        sign_identity(ADMIN, "another secret", now=1_000),
        sign_identity(ANONYMOUS, SECRET, now=1_000).replace("v1.1000", "v1.1001"),
        sign_identity(ADMIN, SECRET, now=1_000)[:-2] + "00",
    ],
)
def test_missing_forged_or_tampered_headers_are_refused(header: str | None) -> None:
    with pytest.raises(InvalidIdentity):
        verify_identity(header, SECRET, max_skew=60, now=1_000)


def test_a_replayed_old_header_is_refused() -> None:
    header = sign_identity(ADMIN, SECRET, now=1_000)
    with pytest.raises(InvalidIdentity, match="stale"):
        verify_identity(header, SECRET, max_skew=60, now=1_061)
