"""The gateway → service identity header (v2): Ed25519, bound to one request, fresh."""

import base64
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import APIRouter, FastAPI, Request

from services.app import create_service_app
from services.identity import (
    IDENTITY_HEADER,
    IdentitySigner,
    IdentityVerifier,
    InvalidIdentity,
    encode_private_key,
    encode_public_key,
    generate_keypair,
    load_signing_key,
    load_verify_keys,
    public_key_of,
    verify_identity,
)
from services.middleware import InternalIdentityMiddleware
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.settings import Settings
from tests.signing import GATEWAY_KEY, SIGNER, SIGNING_KEY, VERIFY_KEYS, SignedIdentity

ADMIN = Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="admin")
NOW = 1_000_000.0
REQUEST = {
    "method": "POST",
    "path": "/api/v1/complaints",
    "query": "lang=id",
    "request_id": "req-1",
    "body": b'{"title": "Jalan berlubang"}',
}
VERIFIER = IdentityVerifier([GATEWAY_KEY.public_key()], max_age=30, clock_skew=2)


def signed(principal: Principal = ADMIN, *, now: float = NOW, **request: object) -> str:
    return SIGNER.sign(principal, **(REQUEST | request), now=now)  # type: ignore[arg-type]


def verify(header: str | None, *, now: float = NOW, **request: object) -> Principal:
    return verify_identity(header, VERIFIER, **(REQUEST | request), now=now)  # type: ignore[arg-type]


def test_a_signed_principal_round_trips() -> None:
    assert verify(signed(), now=NOW + 29) == ADMIN
    assert verify(signed(ANONYMOUS)) == ANONYMOUS


@pytest.mark.parametrize(
    "replayed",
    [
        {"path": "/api/v1/webhooks/endpoints"},
        {"method": "PUT"},
        {"method": "GET", "body": b""},
        {"body": b'{"title": "Jalan berlubang!"}'},
        {"body": b""},
        {"query": "lang=en"},
        {"query": ""},
        {"request_id": "req-2"},
    ],
    ids=[
        "another path",
        "another method",
        "a GET",
        "another body",
        "no body",
        "query",
        "none",
        "id",
    ],
)
def test_a_header_replayed_on_another_request_is_refused(replayed: dict[str, object]) -> None:
    header = signed()

    with pytest.raises(InvalidIdentity):
        verify(header, **replayed)


def test_a_header_dated_in_the_future_is_refused_beyond_the_clock_skew() -> None:
    assert verify(signed(now=NOW + 2)) == ADMIN  # clock jitter between hosts

    with pytest.raises(InvalidIdentity, match="future"):
        verify(signed(now=NOW + 3))
    with pytest.raises(InvalidIdentity, match="future"):
        verify(signed(now=NOW + 3600))


def test_a_stale_header_is_refused() -> None:
    header = signed()

    with pytest.raises(InvalidIdentity, match="stale"):
        verify(header, now=NOW + 31)


def test_a_header_signed_with_any_other_key_is_refused() -> None:
    # A service (or anyone) can make an Ed25519 key; only the gateway's public key verifies.
    own_key = Ed25519PrivateKey.generate()
    header = IdentitySigner(own_key).sign(ADMIN, **REQUEST, now=NOW)  # type: ignore[arg-type]

    with pytest.raises(InvalidIdentity, match="unknown key"):
        verify(header)

    # Claiming the gateway's key id does not help: the signature is checked with its key.
    _, _kid, *rest = header.split(".")
    with pytest.raises(InvalidIdentity, match="signature"):
        verify(".".join(["v2", SIGNER.kid, *rest]))


def test_a_tampered_principal_timestamp_or_digest_is_refused() -> None:
    version, kid, iat, payload, digest, signature = signed(ANONYMOUS).split(".")
    admin = base64.urlsafe_b64encode(ADMIN.model_dump_json().encode()).decode().rstrip("=")
    body_digest = signed(body=b"other").split(".")[4]
    # Two other characters at the end (never by chance the same two).
    tampered = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for forged in (
        [version, kid, iat, admin, digest, signature],
        [version, kid, str(int(iat) + 1), payload, digest, signature],
        [version, kid, iat, payload, body_digest, signature],
        [version, kid, iat, payload, digest, tampered],
        ["v1", kid, iat, payload, digest, signature],
    ):
        with pytest.raises(InvalidIdentity):
            verify(".".join(forged))


@pytest.mark.parametrize("header", [None, "", "garbage", "v2.a.b.c.d.e", "v2." * 5 + "x"])
def test_missing_or_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(InvalidIdentity):
        verify(header)


def test_old_and_new_keys_both_verify_while_the_gateway_key_rotates() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = f"{encode_public_key(old.public_key())}, {encode_public_key(new.public_key())}"
    verifier = IdentityVerifier.from_setting(keys, max_age=30, clock_skew=2)

    for key in (old, new):
        header = IdentitySigner(key).sign(ADMIN, **REQUEST, now=NOW)  # type: ignore[arg-type]
        assert verify_identity(header, verifier, **REQUEST, now=NOW) == ADMIN  # type: ignore[arg-type]


def test_keys_load_from_base64_or_pem_and_reject_anything_else() -> None:
    private, public = generate_keypair()
    assert public_key_of(private) == public
    pem = load_signing_key(private).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert encode_private_key(load_signing_key(pem.decode())) == private
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(public)).decode().rstrip("=")
    assert isinstance(load_verify_keys(urlsafe)[0], Ed25519PublicKey)
    for bad in ("", "not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError):
            load_verify_keys(bad)
        with pytest.raises(ValueError):
            load_signing_key(bad)


# --- the middleware of every service -------------------------------------------------------


def service(settings: Settings) -> FastAPI:
    router = APIRouter()

    @router.post("/api/v1/echo")
    async def echo(request: Request) -> dict[str, object]:
        return {
            "body": (await request.body()).decode(),
            "json": await request.json(),
            "role": request.state.principal.role,
        }

    return create_service_app("test", [router], description="identity tests", settings=settings)


def service_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"internal_verify_keys": VERIFY_KEYS} | overrides
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def test_the_service_checks_the_body_and_still_hands_it_to_the_route() -> None:
    app = service(service_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://svc", auth=SignedIdentity(ADMIN)
    ) as client:
        ok = await client.post("/api/v1/echo", json={"a": 1}, headers={"X-Request-ID": "r-1"})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"body": '{"a":1}', "json": {"a": 1}, "role": "admin"}

    # The same header on another body (or path) is refused before the route runs.
    request = httpx.Request("POST", "http://svc/api/v1/echo", json={"a": 1})
    header = SIGNER.sign(ADMIN, method="POST", path="/api/v1/echo", body=request.content)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        swapped = await client.post(
            "/api/v1/echo", json={"a": 2}, headers={IDENTITY_HEADER: header}
        )
        assert swapped.status_code == 401
        assert "body" in swapped.json()["detail"]
        elsewhere = await client.post(
            "/api/v1/echo?x=1", json={"a": 1}, headers={IDENTITY_HEADER: header}
        )
        assert elsewhere.status_code == 401
        assert (await client.get("/healthz")).status_code == 200


def test_a_service_refuses_to_start_with_the_private_key_or_without_public_keys() -> None:
    async def app(scope: object, receive: object, send: object) -> None: ...

    with pytest.raises(RuntimeError, match="INTERNAL_SIGNING_KEY"):
        InternalIdentityMiddleware(app, service_settings(internal_signing_key=SIGNING_KEY))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="INTERNAL_VERIFY_KEYS"):
        InternalIdentityMiddleware(app, service_settings(internal_verify_keys=None))  # type: ignore[arg-type]


def test_what_a_service_holds_can_verify_but_not_sign() -> None:
    async def app(scope: object, receive: object, send: object) -> None: ...

    middleware = InternalIdentityMiddleware(app, service_settings())  # type: ignore[arg-type]

    keys = list(vars(middleware.verifier)["_keys"].values())
    assert keys and all(isinstance(k, Ed25519PublicKey) for k in keys)
    assert not any(isinstance(k, Ed25519PrivateKey) for k in keys)
    assert not hasattr(middleware.verifier, "sign")
    # Nothing the service holds is a private key in any encoding: no value of its settings
    # loads as one.
    held = json.dumps(service_settings().model_dump(mode="json"))
    assert SIGNING_KEY not in held


def test_a_blank_signing_key_counts_as_none() -> None:
    # `aduan run` blanks it for every process but the gateway (overriding a .env file).
    assert service_settings(internal_signing_key="").internal_signing_key is None
