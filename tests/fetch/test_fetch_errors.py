"""Failures come back as data: HTTP statuses, Retry-After, network errors, URL policy."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from pipeline.fetch import FetchOutcome, FetchSettings, fetch_all_sync, is_public_address
from pipeline.fetch.policy import IPAddress, Resolver
from pipeline.types import SourceForUpdate
from tests.support.feedserver import FeedServer, Reply

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def fixed_now() -> datetime:
    return NOW


def fetch_one(url: str, settings: FetchSettings, **kwargs: object) -> FetchOutcome:
    [result] = fetch_all_sync([SourceForUpdate(id=7, name="f", url=url)], settings, now=fixed_now, **kwargs)  # type: ignore[arg-type]
    return result


def test_http_error_status_is_reported(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/gone", Reply(status=404, body=b"nope"))
    result = fetch_one(url, settings)
    assert (result.error_kind, result.status, result.body) == ("http_status", 404, None)
    assert result.error is not None and url in result.error and "404" in result.error
    assert result.retry_after is None
    assert result.source_id == 7 and result.fetched_at == NOW


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds(feed_server: FeedServer, settings: FetchSettings, status: int) -> None:
    url = feed_server.add("/busy", Reply(status=status, headers={"Retry-After": "120"}))
    result = fetch_one(url, settings)
    assert (result.error_kind, result.status, result.retry_after) == ("http_status", status, 120.0)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_http_date(feed_server: FeedServer, settings: FetchSettings, status: int) -> None:
    when = format_datetime(NOW + timedelta(minutes=10), usegmt=True)
    url = feed_server.add("/busy", Reply(status=status, headers={"Retry-After": when}))
    result = fetch_one(url, settings)
    assert result.status == status
    assert result.retry_after == 600.0  # relative to the injected clock


def test_retry_after_ignored_on_other_statuses(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/err", Reply(status=500, headers={"Retry-After": "120"}))
    assert fetch_one(url, settings).retry_after is None


def test_status_sequence_then_recovery(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/flaky", Reply(status=503), Reply(status=503), Reply(body=b"<rss/>"))
    statuses = [fetch_one(url, settings).status for _ in range(4)]
    assert statuses == [503, 503, 200, 200]


def test_unreachable_port_is_a_network_error(settings: FetchSettings) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"
    result = fetch_one(url, settings)
    assert result.error_kind == "network"
    assert result.status is None and result.body is None
    assert result.error is not None and url in result.error


def test_connection_reset_is_a_network_error(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/reset", Reply(reset=True))
    result = fetch_one(url, settings)
    assert result.error_kind == "network"
    assert result.error is not None and url in result.error and "reset" in result.error.lower()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://example.org/feed.xml", "blocked"),
        ("file:///etc/passwd", "blocked"),
        ("example.org/feed.xml", "invalid_url"),
        ("http://", "invalid_url"),
        ("http://[::1/feed", "invalid_url"),
        ("http://exa\x00mple.org/", "invalid_url"),
    ],
)
def test_bad_urls_are_refused_without_fetching(url: str, kind: str, settings: FetchSettings) -> None:
    result = fetch_one(url, settings)
    assert result.error_kind == kind
    assert result.error is not None and (url in result.error or repr(url) in result.error)
    assert result.elapsed == 0.0


def test_private_addresses_are_blocked_by_default(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", Reply(body=b"<rss/>"))
    strict = FetchSettings()  # allow_private_networks defaults to False
    for candidate in (url, feed_server.url("/feed", host="localhost")):
        result = fetch_one(candidate, strict)
        assert result.error_kind == "blocked", candidate
        assert result.error is not None and "127.0.0.1" in result.error
    assert feed_server.requests == []  # refused before connecting


def _fake_resolver(table: dict[str, str]) -> Resolver:
    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address(table[host])]

    return resolve


def test_host_resolving_to_private_address_is_blocked() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=b"<rss/>")

    transport = httpx.MockTransport(handler)
    resolver = _fake_resolver({"intranet.example.com": "10.1.2.3", "news.example.com": "93.184.216.34"})
    strict = FetchSettings()
    blocked = fetch_one("http://intranet.example.com/feed", strict, transport=transport, resolver=resolver)
    allowed = fetch_one("http://news.example.com/feed", strict, transport=transport, resolver=resolver)
    assert blocked.error_kind == "blocked" and blocked.error is not None and "10.1.2.3" in blocked.error
    assert allowed.error is None and allowed.status == 200
    assert seen == ["http://news.example.com/feed"]


def test_redirect_to_a_private_address_is_blocked() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    result = fetch_one("http://93.184.216.34/feed", FetchSettings(), transport=httpx.MockTransport(handler))
    assert result.error_kind == "blocked"
    assert result.error is not None and "169.254.169.254" in result.error
    assert seen == ["http://93.184.216.34/feed"]  # the metadata address was never requested


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::"],
)  # fmt: skip
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_an_unexpected_bug_in_one_fetch_does_not_stop_the_others() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/boom":
            raise RuntimeError("transport bug")
        return httpx.Response(200, content=b"<rss/>")

    sources = [
        SourceForUpdate(id=i, name="f", url=f"http://93.184.216.34/{p}") for i, p in enumerate(["a", "boom", "b"])
    ]
    results = fetch_all_sync(sources, FetchSettings(), transport=httpx.MockTransport(handler))
    assert [r.error_kind for r in results] == [None, "internal", None]
    assert results[1].error is not None and "transport bug" in results[1].error
