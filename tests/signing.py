"""The tests play the gateway: they hold its private key; the services get the public key only.

`SignedIdentity(principal)` is an httpx auth that signs each request (method, path, query,
request id and body) as the gateway would, for in-process clients of one service.
"""

from collections.abc import Generator

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.identity import (
    IDENTITY_HEADER,
    IdentitySigner,
    encode_private_key,
    encode_public_key,
)
from services.principal import Principal

GATEWAY_KEY = Ed25519PrivateKey.generate()
SIGNING_KEY = encode_private_key(GATEWAY_KEY)  # ADUAN_INTERNAL_SIGNING_KEY of the gateway
VERIFY_KEYS = encode_public_key(GATEWAY_KEY.public_key())  # ADUAN_INTERNAL_VERIFY_KEYS
SIGNER = IdentitySigner(GATEWAY_KEY)


def sign_for(request: httpx.Request, principal: Principal, signer: IdentitySigner = SIGNER) -> str:
    return signer.sign(
        principal,
        method=request.method,
        path=request.url.path,
        query=request.url.query.decode("latin-1"),
        request_id=request.headers.get("x-request-id", ""),
        body=request.content,
    )


class SignedIdentity(httpx.Auth):
    requires_request_body = True

    def __init__(self, principal: Principal, signer: IdentitySigner = SIGNER) -> None:
        self.principal = principal
        self.signer = signer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[IDENTITY_HEADER] = sign_for(request, self.principal, self.signer)
        yield request
