"""Conditional GET, body hashing and the request headers, against the real local server."""

from __future__ import annotations

import hashlib

from pipeline.fetch import FetchOutcome, FetchSettings, fetch_all_sync
from pipeline.types import SourceForUpdate
from tests.support.feedserver import FeedServer, Reply

BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
LAST_MODIFIED = "Wed, 01 Jan 2025 10:00:00 GMT"


def fetch_one(source: SourceForUpdate, settings: FetchSettings) -> FetchOutcome:
    [result] = fetch_all_sync([source], settings)
    return result


def test_first_fetch_returns_body_validators_and_hash(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/feed", Reply(body=BODY, etag='"v1"', last_modified=LAST_MODIFIED))
    result = fetch_one(SourceForUpdate(id=1, name="f", url=url), settings)
    assert result.error is None
    assert result.status == 200
    assert result.body == BODY
    assert result.body_hash == hashlib.sha256(BODY).hexdigest()
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)
    assert not result.not_modified
    assert result.url == url
    assert result.headers["etag"] == '"v1"'  # headers come back lower-cased
    [request] = feed_server.hits("/feed")
    assert "if-none-match" not in request.headers and "if-modified-since" not in request.headers


def test_etag_is_sent_and_304_means_not_modified(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/feed", Reply(body=BODY, etag='"v1"'))
    source = SourceForUpdate(id=1, name="f", url=url, etag='"v1"', body_hash="h-old")
    result = fetch_one(source, settings)
    assert feed_server.hits("/feed")[0].headers["if-none-match"] == '"v1"'
    assert result.status == 304
    assert result.not_modified is True
    assert result.body is None
    assert result.error is None
    # Validators to store next: the 304's own, else the ones we had; the body hash is kept.
    assert result.etag == '"v1"'
    assert result.body_hash == "h-old"


def test_last_modified_is_sent_as_if_modified_since(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/feed", Reply(body=BODY, last_modified=LAST_MODIFIED))
    source = SourceForUpdate(id=1, name="f", url=url, last_modified=LAST_MODIFIED)
    result = fetch_one(source, settings)
    assert feed_server.hits("/feed")[0].headers["if-modified-since"] == LAST_MODIFIED
    assert result.status == 304 and result.not_modified and result.body is None
    assert result.last_modified == LAST_MODIFIED


def test_stale_etag_gets_the_new_body(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/feed", Reply(body=BODY, etag='"v2"'))
    result = fetch_one(SourceForUpdate(id=1, name="f", url=url, etag='"v1"'), settings)
    assert result.status == 200 and result.body == BODY and result.etag == '"v2"'
    assert not result.not_modified


def test_unchanged_body_hash_means_not_modified(feed_server: FeedServer, settings: FetchSettings) -> None:
    # A server without validators: only the hash can tell the body did not change.
    url = feed_server.add("/feed", Reply(body=BODY))
    digest = hashlib.sha256(BODY).hexdigest()
    result = fetch_one(SourceForUpdate(id=1, name="f", url=url, body_hash=digest), settings)
    assert result.status == 200
    assert result.not_modified is True
    assert result.body is None
    assert result.body_hash == digest


def test_changed_body_hash_returns_the_body(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/feed", Reply(body=BODY))
    result = fetch_one(SourceForUpdate(id=1, name="f", url=url, body_hash="0" * 64), settings)
    assert result.body == BODY and not result.not_modified


def test_gzip_body_is_decoded_and_hashed_decoded(feed_server: FeedServer, settings: FetchSettings) -> None:
    body = BODY * 200
    url = feed_server.add("/feed", Reply(body=body, gzip=True))
    result = fetch_one(SourceForUpdate(id=1, name="f", url=url), settings)
    assert result.body == body
    assert result.body_hash == hashlib.sha256(body).hexdigest()
    assert result.headers["content-encoding"] == "gzip"


def test_user_agent_accept_and_encoding_headers(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/feed", Reply(body=BODY))
    fetch_one(SourceForUpdate(id=1, name="f", url=url), settings)
    headers = feed_server.hits("/feed")[0].headers
    assert headers["user-agent"] == settings.user_agent
    assert "pipeline" in headers["user-agent"] and "monitor" in headers["user-agent"]
    assert headers["accept"].startswith("application/rss+xml")
    assert "application/atom+xml" in headers["accept"]
    assert headers["accept-encoding"] == "gzip, deflate"


def test_keep_alive_reuses_connections(feed_server: FeedServer, settings: FetchSettings) -> None:
    urls = [feed_server.add(f"/f{i}", Reply(body=BODY)) for i in range(20)]
    sources = [SourceForUpdate(id=i, name="f", url=u) for i, u in enumerate(urls)]
    results = fetch_all_sync(sources, settings.model_copy(update={"max_concurrency": 2}))
    assert all(r.body == BODY for r in results)
    assert feed_server.connections <= 2  # 20 requests over the 2 pooled connections
