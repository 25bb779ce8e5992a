"""The SSRF guard (issue 9, acceptance 3): with private targets refused (the production
default), every way of pointing Aduan at its own network is refused with a 4xx at registration,
and at send time a name that now resolves inside, a redirect, or a host that cannot be encoded
is a failed attempt (not a request sent, not a stuck delivery).

DNS is outside the machine: these tests answer it with a resolver they control."""

import dataclasses
import ipaddress
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.responses import Response

from notifications.api import get_lookup
from notifications.dispatcher import Dispatcher
from notifications.main import create_app
from notifications.targets import IPAddress, Lookup, TargetUnresolvable
from services.runtime import Runtime
from tests.notifications.conftest import api_client, fast_config
from tests.notifications.helpers import add_endpoint, add_event, deliveries, fan_out, until
from tests.receiver import Receiver, running_receiver

ENDPOINTS = "/api/v1/webhooks/endpoints"
PUBLIC = "93.184.215.14"
# The resolver these tests control: names to addresses.
DNS = {
    "lapor.example.go.id": [PUBLIC],
    "intranet.example.go.id": ["127.0.0.1"],  # a public-looking name that resolves to loopback
    "metadata.example.go.id": ["169.254.169.254"],
    "mixed.example.go.id": [PUBLIC, "10.0.0.7"],  # one bad answer is enough
    "v6.example.go.id": ["::1"],
}


def controlled(table: dict[str, list[str]]) -> Lookup:
    async def lookup(host: str, port: int, family: socket.AddressFamily) -> list[IPAddress]:
        if host not in table:
            raise TargetUnresolvable(f"{host} does not resolve")
        return [ipaddress.ip_address(a) for a in table[host]]

    return lookup


@pytest.fixture
async def strict(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the guard on and the controlled resolver."""
    settings = runtime.settings.model_copy(update={"webhook_allow_private_targets": False})
    strict_runtime = dataclasses.replace(runtime, settings=settings)
    app = create_app(settings)

    async def lookup() -> Lookup:
        return controlled(DNS)

    app.dependency_overrides[get_lookup] = lookup
    async with api_client(app, strict_runtime) as client:
        yield client


REFUSED = [
    ("https://127.0.0.1/hooks", "private_target"),
    ("https://[::1]/hooks", "private_target"),
    ("https://10.0.0.1/hooks", "private_target"),
    ("https://169.254.169.254/latest/meta-data/", "private_target"),
    ("https://localhost/hooks", "private_target"),
    ("https://intranet.example.go.id/hooks", "private_target"),
    ("https://metadata.example.go.id/hooks", "private_target"),
    ("https://mixed.example.go.id/hooks", "private_target"),
    ("https://v6.example.go.id/hooks", "private_target"),
    ("https://unknown.example.go.id/hooks", "unresolvable_target"),
    ("http://lapor.example.go.id/hooks", "https_required"),
    ("file:///etc/passwd", "url_scheme"),
    ("gopher://127.0.0.1:6379/_INFO", "url_scheme"),
    ("https://" + "a" * 64 + ".example.go.id/hooks", "value_error"),
    # 58 characters of IDN become a 64-character punycode label
    ("https://" + "ü" * 58 + ".example.go.id/hooks", "value_error"),
    ("https://" + ".".join(["a" * 60] * 5) + "/hooks", "value_error"),  # a 304-character host
    # 1,000 characters that grow past the column (2,048) once percent-encoded
    ("https://lapor.example.go.id/" + "ü" * 1000, "value_error"),
]


@pytest.mark.parametrize(("url", "code"), REFUSED)
async def test_targets_inside_or_unusable_are_refused_with_a_4xx_naming_url(
    strict: httpx.AsyncClient, runtime: Runtime, url: str, code: str
) -> None:
    response = await strict.post(ENDPOINTS, json={"url": url})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [("/url", code)]
    assert (await strict.get(ENDPOINTS)).json()["items"] == []


async def test_a_public_name_is_accepted_and_stored_in_its_ascii_form(
    strict: httpx.AsyncClient,
) -> None:
    public = await strict.post(ENDPOINTS, json={"url": "https://lapor.example.go.id/hooks"})

    assert public.status_code == 201, public.text


async def test_a_patch_to_a_private_target_is_refused_too(strict: httpx.AsyncClient) -> None:
    created = (await strict.post(ENDPOINTS, json={"url": "https://lapor.example.go.id/h"})).json()

    patched = await strict.patch(
        f"{ENDPOINTS}/{created['id']}", json={"url": "https://intranet.example.go.id/h"}
    )

    assert patched.status_code == 422
    assert patched.json()["errors"][0]["pointer"] == "/url"
    assert (await strict.get(f"{ENDPOINTS}/{created['id']}")).json()["url"] == created["url"]


@pytest.fixture
def committed(committed_runtime: Runtime) -> Runtime:
    return committed_runtime


async def attempted_once(runtime: Runtime) -> list[str | None]:
    async def done() -> bool:
        return all(d.attempts >= 1 for d in await deliveries(runtime))

    await until(done)
    return [d.last_error for d in await deliveries(runtime)]


async def test_a_name_that_resolves_inside_at_send_time_is_a_failed_attempt(
    committed: Runtime, receiver: Receiver
) -> None:
    """DNS rebinding: registered while public, loopback when the connection opens."""
    await add_endpoint(committed, f"http://rebound.example.go.id:{receiver.port}/hooks")
    rebound = controlled({"rebound.example.go.id": ["127.0.0.1"]})
    config = fast_config(committed.settings, allow_private_targets=False, lookup=rebound)

    async with Dispatcher(committed, config):
        await fan_out(committed, await add_event(committed))
        (error,) = await attempted_once(committed)

    assert receiver.received == []
    assert error is not None and "not a public address" in error
    assert [d.status for d in await deliveries(committed)] == ["pending"]  # retried later


async def test_hosts_that_cannot_be_encoded_fail_their_attempt_instead_of_sticking(
    committed: Runtime,
) -> None:
    """Rows from before registration checked the IDNA form: the attempt fails, recorded."""
    await add_endpoint(committed, "https://" + "a" * 64 + ".example.go.id/hooks")
    config = fast_config(committed.settings, allow_private_targets=False)

    async with Dispatcher(committed, config):
        await fan_out(committed, await add_event(committed))
        (error,) = await attempted_once(committed)

    assert error is not None and "host name" in error


async def test_a_redirect_to_loopback_is_not_followed(
    committed: Runtime, receiver: Receiver
) -> None:
    async with running_receiver() as inside:
        receiver.default = 204
        receiver.script = [
            Response(status_code=302, headers={"Location": inside.url}),
            Response(status_code=307, headers={"Location": inside.url}),
        ]
        await add_endpoint(committed, receiver.url)
        # Private targets allowed only so that the receiver itself (on loopback) is reachable.
        config = fast_config(committed.settings, allow_private_targets=True)

        async with Dispatcher(committed, config):
            await fan_out(committed, await add_event(committed))
            (error,) = await attempted_once(committed)

        assert inside.received == []
    assert error is not None and error.startswith("HTTP 302")
    assert "redirects are not followed" in error
