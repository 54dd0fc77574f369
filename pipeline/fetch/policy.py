"""Which URLs may be fetched: http(s) only, and (by default) only public addresses.

The address check resolves the host name and refuses the fetch if *any* address it resolves to is
loopback, private, link-local, multicast, reserved or otherwise not globally routable; it gives the
clear error before anything is sent.  The connection itself resolves the name again, so a DNS server
that answers differently the second time (DNS rebinding) could steer it to an internal address: the
client's connections therefore go through :class:`PublicPeersOnly`, which checks the address the socket
actually connected to and closes it, before a byte is sent, if that address is not public.  Literal IP
hosts are checked without DNS, and every redirect hop is checked again.  Through a configured proxy the
proxy resolves names, so only the URL check applies.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore
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


class NonPublicPeer(httpcore.ConnectError):
    """A connection reached a non-public address although the name was checked (DNS rebinding)."""


class PublicPeersOnly(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, refusing any TCP connection whose peer is not a public address.

    The check is on the connected socket's peer, so it holds whatever the name resolved to this time.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
        peer = stream.get_extra_info("server_addr")
        try:
            address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        except (TypeError, IndexError, ValueError):
            address = None
        if address is None or not is_public_address(address):
            await stream.aclose()
            raise NonPublicPeer(f"host {host!r} connected to the non-public address {address or peer} "
                                "(after resolving to a public one: DNS rebinding?)")
        return stream

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise NonPublicPeer(f"unix socket {path!r}: not a public address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
