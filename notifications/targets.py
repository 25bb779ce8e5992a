"""Where webhooks may be sent.

A registered URL must not turn the platform into a probe of its own network (SSRF): hosts that are,
or resolve to, loopback, private, link-local, reserved, multicast or unspecified addresses are
refused, at registration (`vet`) and again whenever a delivery opens a connection: the HTTP
client resolves names only through `VettingResolver`, which refuses a forbidden answer, so the
address checked is the address connected to (DNS pinning: a second, different DNS answer cannot
slip in between), while the Host header, TLS SNI and the certificate check keep the host's name.
IP literals never reach a resolver, so `check_url` refuses forbidden ones before sending.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT_SECONDS = 5.0
DEFAULT_PORTS = {"http": 80, "https": 443}
NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


MAX_LABEL = 63  # octets of one DNS label (RFC 1035), punycode included
MAX_HOST = 253


class TargetRefused(Exception):
    """The host is, or resolves to, an address webhooks must not reach."""


class TargetUnresolvable(Exception):
    """The host has no address (or DNS did not answer in time)."""


def forbidden_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        # Shared address space (100.64.0.0/10, carrier NAT) and the like are not public either.
        or not address.is_global
    )


def unencodable_host(host: str) -> str | None:
    """Why `host` (in its ASCII, punycode form) cannot be a DNS name, or None. Checked at
    registration (a 422) and again before each attempt (a failed attempt), so resolvers and
    the IDNA codec never raise on it."""
    if host.startswith("[") or literal_address(host) is not None:
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return "the host name cannot be encoded (IDNA)"
    if len(ascii_host.rstrip(".")) > MAX_HOST:
        return f"the host name is longer than {MAX_HOST} characters"
    if any(len(label) > MAX_LABEL for label in ascii_host.rstrip(".").split(".")):
        return f"a label of the host name is longer than {MAX_LABEL} characters"
    return None


def forbidden_hostname(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")  # RFC 6761


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


Lookup = Callable[[str, int, socket.AddressFamily], Awaitable[list[IPAddress]]]


async def resolve(
    host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
) -> list[IPAddress]:
    """The system resolver (the default `Lookup`; tests give a resolver they control)."""
    reason = unencodable_host(host)
    if reason is not None:
        raise TargetUnresolvable(f"{host[:80]}: {reason}")
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise TargetUnresolvable(f"{host} does not resolve: {exc}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetUnresolvable(f"{host} has no address")
    return addresses


def refuse_forbidden(host: str, addresses: Sequence[IPAddress]) -> None:
    """One bad answer is enough: otherwise a mixed DNS answer could still reach the inside."""
    for address in addresses:
        if forbidden_address(address):
            raise TargetRefused(f"{host} resolves to {address}, not a public address")


def check_url(url: str) -> IPAddress | None:
    """What can be refused without DNS: reserved names and forbidden IP literals. Returns the
    host's address when it is a literal."""
    host = urlsplit(url).hostname
    if not host or forbidden_hostname(host):
        raise TargetRefused(f"{host or 'no host'} is not a public host")
    reason = unencodable_host(host)
    if reason is not None:
        raise TargetUnresolvable(f"{host[:80]}: {reason}")
    literal = literal_address(host)
    if literal is not None and forbidden_address(literal):
        raise TargetRefused(f"{literal} is not a public address")
    return literal


async def vet(url: str, lookup: Lookup = resolve) -> list[IPAddress]:
    """The addresses `url` may be delivered to; raise if any of them is forbidden."""
    literal = check_url(url)
    if literal is not None:
        return [literal]
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    addresses = await lookup(host, port, socket.AF_UNSPEC)
    refuse_forbidden(host, addresses)
    return addresses


class VettingResolver(AbstractResolver):
    """aiohttp's resolver for webhook deliveries: the addresses of a name, refused (TargetRefused,
    which aiohttp lets through unwrapped) if any is not public, unless private targets are
    allowed (development and tests)."""

    def __init__(self, *, allow_private: bool = False, lookup: Lookup = resolve) -> None:
        self.allow_private = allow_private
        self.lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self.lookup(host, port, family)
        if not self.allow_private:
            refuse_forbidden(host, addresses)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=NUMERIC,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass
