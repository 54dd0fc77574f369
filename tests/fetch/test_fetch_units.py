"""Small pieces: Retry-After parsing, settings validation, content encodings."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pipeline.fetch import FetchSettings, fetch_all_sync
from pipeline.fetch.headers import parse_retry_after
from pipeline.types import SourceForUpdate
from tests.support.feedserver import FeedServer, Reply

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sat, 01 Mar 2025 12:05:00 GMT", 300.0),
        ("Saturday, 01-Mar-25 12:05:00 GMT", 300.0),  # obsolete RFC 850 form
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # already past
        ("-5", None),
        ("soon", None),
        ("inf", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_settings_defaults_suit_real_news_sites() -> None:
    s = FetchSettings()
    assert s.allow_private_networks is False
    assert (s.max_concurrency, s.max_per_host, s.max_redirects) == (32, 4, 5)
    assert s.max_body_bytes == 10 * 1024 * 1024
    assert s.poll_interval == timedelta(minutes=30) and s.backoff_max == timedelta(hours=24)
    assert s.connect_timeout < s.total_timeout and s.read_timeout < s.total_timeout
    assert "pipeline" in s.user_agent


def test_settings_are_validated_and_frozen() -> None:
    with pytest.raises(ValidationError, match="max_concurency"):
        FetchSettings(max_concurency=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FetchSettings(max_per_host=0)
    with pytest.raises(ValidationError):
        FetchSettings(backoff_jitter=1.0)
    assert FetchSettings.model_validate({"poll_interval": 600}).poll_interval == timedelta(minutes=10)
    with pytest.raises(ValidationError):
        FetchSettings().max_concurrency = 1  # type: ignore[misc]


BODY = b"<rss>" + b"deflate me " * 1000 + b"</rss>"


@pytest.mark.parametrize(
    "encoded",
    [zlib.compress(BODY), zlib.compress(BODY)[2:-4]],  # zlib-wrapped, and raw deflate as some servers send
    ids=["zlib", "raw"],
)
def test_deflate_bodies_are_decoded(feed_server: FeedServer, settings: FetchSettings, encoded: bytes) -> None:
    url = feed_server.add("/d", Reply(body=encoded, headers={"Content-Encoding": "deflate"}))
    [result] = fetch_all_sync([SourceForUpdate(id=1, name="f", url=url)], settings)
    assert result.error is None and result.body == BODY


@pytest.mark.parametrize(
    ("encoding", "body", "fragment"),
    [("br", b"\x8b\x02\x80", "unsupported Content-Encoding"), ("gzip", b"not gzip at all", "corrupt gzip")],
)
def test_undecodable_bodies_are_network_errors(
    feed_server: FeedServer, settings: FetchSettings, encoding: str, body: bytes, fragment: str
) -> None:
    url = feed_server.add("/x", Reply(body=body, headers={"Content-Encoding": encoding}))
    [result] = fetch_all_sync([SourceForUpdate(id=1, name="f", url=url)], settings)
    assert result.error_kind == "network"
    assert result.error is not None and fragment in result.error and url in result.error
