"""The private-address rule and address pinning."""

import ipaddress

import httpx
import pytest

from notifications import delivery as delivery_module
from notifications.delivery import post_webhook
from notifications.targets import (
    IPAddress,
    TargetRefused,
    TargetUnresolvable,
    forbidden_address,
    pin,
    vet,
)
from services.runtime import Runtime
from tests.receiver import Receiver


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["1.1.1.1", "103.10.20.30", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden_address(ipaddress.ip_address(address))


async def test_vet_checks_literals_names_and_every_resolved_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: dict[str, list[IPAddress]] = {
        "lapor.example.go.id": [ipaddress.ip_address("103.10.20.30")],
        # One internal answer among public ones is enough to refuse.
        "mixed.example.go.id": [
            ipaddress.ip_address("103.10.20.30"),
            ipaddress.ip_address("10.0.0.7"),
        ],
    }

    async def fake_resolve(host: str, port: int) -> list[IPAddress]:
        if host not in answers:
            raise TargetUnresolvable(host)
        return answers[host]

    monkeypatch.setattr("notifications.targets.resolve", fake_resolve)

    assert await vet("https://1.1.1.1/h") == [ipaddress.ip_address("1.1.1.1")]
    assert await vet("https://lapor.example.go.id/h") == answers["lapor.example.go.id"]
    for refused in ("https://mixed.example.go.id/h", "http://LOCALHOST./h", "http://[::1]:8/h"):
        with pytest.raises(TargetRefused):
            await vet(refused)
    with pytest.raises(TargetUnresolvable):
        await vet("https://nowhere.example.go.id/h")


async def test_real_resolution_of_localhost_is_refused() -> None:
    with pytest.raises(TargetRefused):
        await vet("http://localhost:9000/h")


def test_pin_keeps_the_name_for_host_header_and_tls() -> None:
    v4 = pin("https://lapor.example.go.id:8443/a/b?x=1", ipaddress.ip_address("103.10.20.30"))
    v6 = pin("http://user:pw@lapor.example.go.id/h", ipaddress.ip_address("2001:db8::1"))
    literal = pin("https://1.1.1.1/h", ipaddress.ip_address("1.1.1.1"))

    assert v4.url == "https://103.10.20.30:8443/a/b?x=1"
    assert v4.host_header == "lapor.example.go.id:8443"
    assert v4.sni_hostname == "lapor.example.go.id"
    assert v6.url == "http://user:pw@[2001:db8::1]/h"
    assert v6.host_header == "lapor.example.go.id" and v6.sni_hostname is None
    assert literal.url == "https://1.1.1.1/h" and literal.host_header is None


async def test_delivery_connects_to_the_vetted_address(
    runtime: Runtime, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checked address is the one connected to, while the receiver sees its own name."""
    vetted: list[str] = []

    async def fake_vet(url: str) -> list[IPAddress]:
        vetted.append(url)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(delivery_module, "vet", fake_vet)
    strict = runtime.settings.model_copy(update={"webhook_allow_private_targets": False})
    url = f"http://lapor.example.go.id:{receiver.port}/hooks"
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient() as client:
        answer = await post_webhook(client, strict, url, headers, "{}")

    assert answer.ok, answer
    assert vetted == [url]
    assert receiver.received[0].headers["host"] == f"lapor.example.go.id:{receiver.port}"
