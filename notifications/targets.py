"""Where webhooks may be sent.

A registered URL must not turn the platform into a probe of its own network (SSRF): hosts that are,
or resolve to, loopback, private, link-local, reserved, multicast or unspecified addresses are
refused, at registration and again at every delivery (DNS answers change). A delivery then connects
to the address it checked (`pin`), so a second, different DNS answer cannot slip in between.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT_SECONDS = 5.0
DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetRefused(Exception):
    """The host is, or resolves to, an address webhooks must not reach."""


class TargetUnresolvable(Exception):
    """The host has no address (or DNS did not answer in time)."""


@dataclass(frozen=True)
class Target:
    """How to reach a webhook URL: the URL to connect to, and the name the receiver expects."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


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


def forbidden_hostname(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")  # RFC 6761


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise TargetUnresolvable(f"{host} does not resolve: {exc}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetUnresolvable(f"{host} has no address")
    return addresses


async def vet(url: str) -> list[IPAddress]:
    """The addresses `url` may be delivered to; raise if any of them is forbidden."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host or forbidden_hostname(host):
        raise TargetRefused(f"{host or 'no host'} is not a public host")
    literal = literal_address(host)
    if literal is not None:
        if forbidden_address(literal):
            raise TargetRefused(f"{literal} is not a public address")
        return [literal]
    addresses = await resolve(host, parts.port or DEFAULT_PORTS.get(parts.scheme, 443))
    # One bad answer is enough: otherwise a mixed DNS answer could still reach the inside.
    for address in addresses:
        if forbidden_address(address):
            raise TargetRefused(f"{host} resolves to {address}, not a public address")
    return addresses


def pin(url: str, address: IPAddress) -> Target:
    """Connect to `address` while the receiver still sees its own host name (Host header, SNI
    and the TLS certificate check all keep the name)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if literal_address(host) is not None:
        return Target(url)
    userinfo, _, host_port = parts.netloc.rpartition("@")
    ip = f"[{address}]" if address.version == 6 else str(address)
    netloc = (userinfo + "@" if userinfo else "") + ip + (f":{parts.port}" if parts.port else "")
    return Target(
        url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
        host_header=host_port,
        sni_hostname=host if parts.scheme == "https" else None,
    )
