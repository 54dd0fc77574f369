"""Redirects: followed hop by hop, final URL recorded, permanent moves reported, loops and limits."""

from __future__ import annotations

import pytest

from pipeline.fetch import FetchOutcome, FetchSettings, fetch_all_sync
from pipeline.types import SourceForUpdate
from tests.support.feedserver import FeedServer, Reply

BODY = b"<rss/>"


def fetch_one(url: str, settings: FetchSettings, etag: str | None = None) -> FetchOutcome:
    [result] = fetch_all_sync([SourceForUpdate(id=1, name="f", url=url, etag=etag)], settings)
    return result


def chain(server: FeedServer, statuses: list[int], end: Reply | None = None) -> str:
    """/r0 -> /r1 -> ... -> /end with the given statuses; returns the first URL."""
    for i, status in enumerate(statuses):
        target = f"/r{i + 1}" if i + 1 < len(statuses) else "/end"
        server.redirect(f"/r{i}", target, status)
    server.add("/end", end or Reply(body=BODY))
    return server.url("/r0")


def test_redirect_chain_is_followed(feed_server: FeedServer, settings: FetchSettings) -> None:
    start = chain(feed_server, [302, 307, 303])
    result = fetch_one(start, settings)
    assert result.error is None and result.body == BODY
    assert result.url == feed_server.url("/end")
    assert result.redirects == (feed_server.url("/r1"), feed_server.url("/r2"), feed_server.url("/end"))
    assert result.permanent_redirect is None


@pytest.mark.parametrize(
    ("statuses", "moved_to"),
    [
        ([301], "/end"),
        ([308, 301], "/end"),
        ([301, 302], "/r1"),  # only the unbroken permanent prefix of the chain counts
        ([302, 301], None),
    ],
)
def test_permanent_redirects_are_reported(
    feed_server: FeedServer, settings: FetchSettings, statuses: list[int], moved_to: str | None
) -> None:
    result = fetch_one(chain(feed_server, statuses), settings)
    assert result.error is None
    assert result.permanent_redirect == (feed_server.url(moved_to) if moved_to else None)


def test_permanent_redirect_to_a_failing_url_is_not_reported(feed_server: FeedServer, settings: FetchSettings) -> None:
    result = fetch_one(chain(feed_server, [301], end=Reply(status=404)), settings)
    assert result.error_kind == "http_status" and result.permanent_redirect is None
    assert result.url == feed_server.url("/end")  # where it failed


def test_conditional_get_works_through_a_redirect(feed_server: FeedServer, settings: FetchSettings) -> None:
    start = chain(feed_server, [301], end=Reply(body=BODY, etag='"e"'))
    result = fetch_one(start, settings, etag='"e"')
    assert result.status == 304 and result.not_modified
    assert result.permanent_redirect == feed_server.url("/end")


def test_redirect_loop_is_an_error(feed_server: FeedServer, settings: FetchSettings) -> None:
    feed_server.redirect("/a", "/b")
    feed_server.redirect("/b", "/a")
    result = fetch_one(feed_server.url("/a"), settings)
    assert result.error_kind == "redirects"
    assert result.error is not None and "loop" in result.error and feed_server.url("/a") in result.error
    assert len(feed_server.requests) == 2


def test_self_redirect_is_a_loop(feed_server: FeedServer, settings: FetchSettings) -> None:
    feed_server.redirect("/self", "/self", 301)
    result = fetch_one(feed_server.url("/self"), settings)
    assert result.error_kind == "redirects" and result.permanent_redirect is None


def test_redirect_limit(feed_server: FeedServer, settings: FetchSettings) -> None:
    limited = settings.model_copy(update={"max_redirects": 5})
    assert fetch_one(chain(feed_server, [302] * 5), limited).error is None
    feed_server.requests.clear()
    too_many = fetch_one(chain(feed_server, [302] * 6), limited)
    assert too_many.error_kind == "redirects"
    assert too_many.error is not None and "more than 5 redirects" in too_many.error
    assert len(feed_server.requests) == 6  # gave up without requesting the 7th URL


def test_no_redirects_allowed(feed_server: FeedServer, settings: FetchSettings) -> None:
    result = fetch_one(chain(feed_server, [302]), settings.model_copy(update={"max_redirects": 0}))
    assert result.error_kind == "redirects"


def test_relative_and_absolute_locations(feed_server: FeedServer, settings: FetchSettings) -> None:
    feed_server.redirect("/dir/a", "b")  # relative to /dir/
    feed_server.redirect("/dir/b", feed_server.url("/end"))
    feed_server.add("/end", Reply(body=BODY))
    result = fetch_one(feed_server.url("/dir/a"), settings)
    assert result.body == BODY and result.url == feed_server.url("/end")


def test_redirect_to_another_scheme_is_blocked(feed_server: FeedServer, settings: FetchSettings) -> None:
    feed_server.redirect("/ftp", "ftp://127.0.0.1/feed.xml", 301)
    result = fetch_one(feed_server.url("/ftp"), settings)
    assert result.error_kind == "blocked"
    assert result.error is not None and "ftp" in result.error


def test_redirect_without_location_is_an_http_error(feed_server: FeedServer, settings: FetchSettings) -> None:
    feed_server.add("/nowhere", Reply(status=302))
    result = fetch_one(feed_server.url("/nowhere"), settings)
    assert (result.error_kind, result.status) == ("http_status", 302)
