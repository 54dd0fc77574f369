"""DNS rebinding: a name that resolves to a public address when checked but connects to a private one.

The URL check resolves the name before anything is sent; the connection resolves it again. With private
networks disallowed, every connection's actual peer address is checked as well, so a second, different
answer cannot steer a fetch inside.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from typing import Any

import httpcore
import pytest

from pipeline.fetch import FetchSettings
from pipeline.fetch.policy import IPAddress, NonPublicPeer, PublicPeersOnly
from tests.fetch.test_fetch_errors import fetch_one
from tests.support.feedserver import FeedServer, Reply

PUBLIC = "93.184.216.34"


async def _claims_public(host: str, port: int) -> Sequence[IPAddress]:
    """The first answer: every name is public (the rebinding DNS server's first reply)."""
    return [ipaddress.ip_address(PUBLIC)]


def test_a_name_checked_as_public_that_connects_to_loopback_is_blocked_before_a_request(
        feed_server: FeedServer) -> None:
    url = feed_server.url("/feed", host="localhost")  # the connection resolves it again: 127.0.0.1
    feed_server.add("/feed", Reply(body=b"<rss/>"))
    result = fetch_one(url, FetchSettings(), resolver=_claims_public)
    assert result.error_kind == "blocked", result.error
    assert result.error is not None and "non-public address 127.0.0.1" in result.error and url in result.error
    assert feed_server.requests == []  # refused on connect: not one byte of the request was sent


def test_the_same_fetch_goes_through_when_private_networks_are_allowed(feed_server: FeedServer) -> None:
    url = feed_server.url("/feed", host="localhost")
    feed_server.add("/feed", Reply(body=b"<rss/>"))
    result = fetch_one(url, FetchSettings(allow_private_networks=True), resolver=_claims_public)
    assert result.error is None and result.status == 200


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, peer: Any) -> None:
        self.peer, self.closed = peer, False

    def get_extra_info(self, info: str) -> Any:
        return self.peer if info == "server_addr" else None

    async def aclose(self) -> None:
        self.closed = True


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self, peer: Any) -> None:
        self.stream = _Stream(peer)

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return self.stream

    async def sleep(self, seconds: float) -> None:
        return None


@pytest.mark.parametrize("peer", [(PUBLIC, 80), ("2606:4700:4700::1111", 443, 0, 0)])
def test_a_public_peer_is_connected(peer: Any) -> None:
    inner = _Backend(peer)
    stream = asyncio.run(PublicPeersOnly(inner).connect_tcp("news.example", 80))
    assert stream is inner.stream and not inner.stream.closed


@pytest.mark.parametrize("peer", [("10.1.2.3", 80), ("169.254.169.254", 80), ("::1", 80, 0, 0),
                                  ("::ffff:192.168.0.1", 80, 0, 0), ("fe80::1%eth0", 80, 0, 2), None, ()])
def test_a_non_public_or_unknown_peer_is_closed_and_refused(peer: Any) -> None:
    inner = _Backend(peer)
    with pytest.raises(NonPublicPeer, match="non-public address"):
        asyncio.run(PublicPeersOnly(inner).connect_tcp("news.example", 80))
    assert inner.stream.closed
