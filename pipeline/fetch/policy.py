"""Which URLs may be fetched: http(s) only, and (by default) only public addresses.

The address check resolves the host name and refuses the fetch if *any* address it resolves to is
loopback, private, link-local, multicast, reserved or otherwise not globally routable.  The
connection itself then resolves the name again, so a DNS server that answers differently the second
time (DNS rebinding) can still steer a fetch to an internal address.  That is accepted for this
project's threat model (feeds are configured by operators, not supplied by strangers); closing the gap
would need a transport that connects to the checked address itself.  Literal IP hosts are checked
without DNS, and every redirect hop is checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

import httpx

from pipeline.errors import BlockedURL, FetchError
from pipeline.fetch.result import InvalidFeedURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""``await resolver(host, port)`` gives every address the host name resolves to."""

ALLOWED_SCHEMES = frozenset({"http", "https"})


def parse_feed_url(url: str) -> httpx.URL:
    """Parse a feed URL, refusing anything that is not absolute http(s) with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InvalidFeedURL(f"{url!r} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        if not parsed.scheme:
            raise InvalidFeedURL(f"{url!r} is not an absolute URL (no scheme)")
        raise BlockedURL(f"{url}: scheme {parsed.scheme!r} is not allowed (only http and https)")
    if not parsed.host:
        raise InvalidFeedURL(f"{url!r} has no host")
    return parsed


def is_public_address(address: IPAddress) -> bool:
    """True for globally routable unicast addresses (an IPv4-mapped IPv6 address counts as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    """Resolve with the operating system's resolver, off the event loop."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}") from exc
    # sockaddr[0] is the address text; an IPv6 one may carry a %scope suffix.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_destination(url: httpx.URL, *, allow_private_networks: bool, resolver: Resolver) -> None:
    """Raise :class:`BlockedURL` if ``url``'s host is, or resolves to, a non-public address."""
    if allow_private_networks:
        return
    host = url.host
    try:
        addresses: Sequence[IPAddress] = [ipaddress.ip_address(host.split("%", 1)[0])]
    except ValueError:
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await resolver(host, port)
    if not addresses:
        raise FetchError(f"{url}: host {host!r} resolves to no address")
    for address in addresses:
        if not is_public_address(address):
            raise BlockedURL(
                f"{url}: host {host!r} is or resolves to the non-public address {address} "
                "(set allow_private_networks to fetch from private networks)"
            )
