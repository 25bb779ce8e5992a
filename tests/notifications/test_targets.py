"""The private-address rule, at registration and in the HTTP client's resolver."""

import ipaddress

import pytest

from notifications.sender import new_http_session, post_webhook
from notifications.targets import (
    TargetRefused,
    TargetUnresolvable,
    VettingResolver,
    check_url,
    forbidden_address,
    refuse_forbidden,
    vet,
)
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


def test_one_forbidden_answer_among_public_ones_is_enough_to_refuse() -> None:
    public = ipaddress.ip_address("103.10.20.30")
    internal = ipaddress.ip_address("10.0.0.7")

    refuse_forbidden("lapor.example.go.id", [public])
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7"):
        refuse_forbidden("mixed.example.go.id", [public, internal])


def test_names_and_literals_refused_without_dns() -> None:
    assert check_url("https://1.1.1.1/h") == ipaddress.ip_address("1.1.1.1")
    assert check_url("https://lapor.example.go.id/h") is None
    for refused in ("http://LOCALHOST./h", "http://api.localhost/h", "http://[::1]:8/h", "h"):
        with pytest.raises(TargetRefused):
            check_url(refused)


async def test_vet_checks_literals_and_resolved_names() -> None:
    assert await vet("https://1.1.1.1/h") == [ipaddress.ip_address("1.1.1.1")]
    with pytest.raises(TargetRefused):
        await vet("http://10.1.2.3/h")
    with pytest.raises(TargetUnresolvable):
        await vet("https://lapor.nonexistent.invalid/h")


async def test_real_resolution_of_localhost_is_refused() -> None:
    with pytest.raises(TargetRefused):
        await vet("http://localhost:9000/h")


async def test_the_resolver_refuses_a_name_that_resolves_to_loopback() -> None:
    """Real DNS (the hosts file): the check is on the address, not only on the name."""
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1"):
        await VettingResolver().resolve("localhost", 80)

    allowed = await VettingResolver(allow_private=True).resolve("localhost", 80)
    assert {"hostname": "localhost", "host": "127.0.0.1", "port": 80}.items() <= allowed[0].items()


async def test_the_client_resolves_names_through_the_vetting_resolver(
    receiver: Receiver,
) -> None:
    url = f"http://localhost:{receiver.port}/hooks"
    receiver.check_payloads = False  # a raw POST of "{}", not a webhook body
    async with new_http_session(allow_private_targets=False, max_connections=4) as strict:
        # Past the name check (as a public-looking name that resolves to loopback would be),
        # the resolver itself refuses the connection.
        with pytest.raises(TargetRefused):
            await strict.post(url, data=b"{}")
        refused = await post_webhook(
            strict, url, {}, b"{}", timeout_seconds=5.0, allow_private_targets=False
        )
    async with new_http_session(allow_private_targets=True, max_connections=4) as lenient:
        answer = await post_webhook(
            lenient, url, {}, b"{}", timeout_seconds=5.0, allow_private_targets=True
        )

    assert refused.status_code is None and (refused.error or "").startswith("target refused")
    assert answer.ok
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"
