"""parse_feed and parse_many: what is a feed, what is not, dates, content, pickling, the pool."""

from __future__ import annotations

import io
import pickle
import time
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest

from pipeline.errors import ParseError
from pipeline.parse import feed as feed_module
from pipeline.parse import parse_feed, parse_many, struct_to_datetime
from pipeline.types import ParsedEntry, ParsedFeed

URL = "https://feeds.example.org/world/rss.xml"
XML = {"content-type": "application/rss+xml"}


def rss(items: str, *, channel: str = "<title>T</title><link>https://example.org/</link>") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()
    )


def test_well_formed_feed_has_no_warning_and_typed_values() -> None:
    body = rss('<item><title>A</title><link>https://example.org/a</link><guid isPermaLink="false">g-1</guid></item>')
    feed = parse_feed(body, XML, URL)
    assert feed.version == "rss20"
    assert feed.warning is None
    assert feed.title == "T"
    (entry,) = feed.entries
    assert (entry.guid, entry.link, entry.title) == ("g-1", "https://example.org/a", "A")
    assert type(entry.title) is str  # plain str, not a feedparser subclass


def test_permalink_guid_resolves_like_a_link() -> None:
    # RSS: a guid is a permalink unless isPermaLink="false", so feedparser resolves a relative one
    # against the document URL; the identity of such entries depends on the URL passed in.
    body = rss("<item><title>A</title><guid>g-1</guid></item>")
    assert parse_feed(body, XML, URL).entries[0].guid == "https://feeds.example.org/world/g-1"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>", {}),
        (b"<!DOCTYPE html><html><body><p>hi</p></body></html>", {"content-type": "text/html; charset=utf-8"}),
        (b"\x00\x01\x02 binary garbage \xff\xfe", {}),
        (b"just some words, nothing else", {"content-type": "text/plain"}),
        (b'{"not": "a json feed"}', {"content-type": "application/json"}),
        (b"{broken json", {}),
        (b"", XML),
        (b"   \n  ", XML),
    ],
    ids=["html", "html-typed", "garbage", "text", "json", "bad-json", "empty", "blank"],
)
def test_not_a_feed_raises_parse_error_naming_the_url(body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(ParseError, match=r"feeds\.example\.org") as info:
        parse_feed(body, headers, URL)
    assert "empty" in str(info.value) or "not a feed" in str(info.value)


def test_html_page_is_named_as_such() -> None:
    body = b"<!DOCTYPE html>\n<html lang='en'><head><title>Moved</title></head><body>Gone</body></html>"
    with pytest.raises(ParseError, match="an HTML page"):
        parse_feed(body, {"content-type": "text/html"}, URL)


def test_bozo_feed_keeps_readable_entries_with_warning() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & Co</title>'
        b"<item><title>One & two</title><link>http://x.example/1</link></item>"
        b"<item><title>Three</title><link>http://x.example/3</link></item>"
    )  # unescaped ampersands and no closing tags
    feed = parse_feed(body, XML, URL)
    assert feed.warning is not None and "not well-formed" in feed.warning
    assert [e.title for e in feed.entries] == ["One & two", "Three"]


def test_charset_comes_from_the_http_header() -> None:
    body = '<?xml version="1.0"?><rss version="2.0"><channel><item><title>Café à Genève</title></item></channel></rss>'
    feed = parse_feed(body.encode("iso-8859-1"), {"Content-Type": "application/xml; charset=ISO-8859-1"}, URL)
    assert feed.entries[0].title == "Café à Genève"


def test_relative_links_resolve_against_the_document_url() -> None:
    body = rss("<item><title>A</title><link>../politics/a?x=1</link></item>")
    assert parse_feed(body, XML, URL).entries[0].link == "https://feeds.example.org/politics/a?x=1"


def test_relative_links_prefer_a_content_location_header() -> None:
    body = rss("<item><title>A</title><link>a.html</link></item>")
    feed = parse_feed(body, {**XML, "Content-Location": "/mirror/feed.xml"}, URL)
    assert feed.entries[0].link == "https://feeds.example.org/mirror/a.html"


def test_dates_are_aware_utc() -> None:
    body = rss("<item><title>A</title><pubDate>Tue, 07 May 2024 14:30:00 +0200</pubDate></item>")
    entry = parse_feed(body, XML, URL).entries[0]
    assert entry.published == datetime(2024, 5, 7, 12, 30, tzinfo=UTC)
    assert entry.published is not None and entry.published.utcoffset() is not None


def test_unreadable_date_is_none() -> None:
    body = rss("<item><title>A</title><pubDate>yesterday-ish</pubDate></item>")
    assert parse_feed(body, XML, URL).entries[0].published is None


ATOM_DATES = (
    b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:dcterms="http://purl.org/dc/terms/">'
    b"<title>T</title>"
    b"<entry><id>1</id><title>A</title><published>2024-05-07T12:30:00Z</published></entry>"
    b"<entry><id>2</id><title>B</title><published>2024-05-07T12:30:00Z</published>"
    b"<updated>2024-05-08T08:00:00Z</updated></entry>"
    b"<entry><id>3</id><title>C</title><published>garbage</published><updated>2024-05-08T08:00:00Z</updated></entry>"
    b"<entry><id>4</id><title>D</title><dcterms:created>2024-05-01T00:00:00Z</dcterms:created></entry>"
    b"<entry><id>5</id><title>E</title><author><name>Ann</name></author>"
    b'<content type="html">&lt;p&gt;Body&lt;/p&gt;</content><summary>Teaser</summary></entry>'
    b"<entry><id>6</id><title>F</title></entry></feed>"
)


def test_a_missing_updated_date_reads_as_the_published_one() -> None:
    """What ``FeedParserDict.get("updated_parsed")`` gives (its fallback), now read explicitly."""
    a, b, c, d, e, f = parse_feed(ATOM_DATES, {"content-type": "application/atom+xml"}, URL).entries
    assert a.updated == a.published == datetime(2024, 5, 7, 12, 30, tzinfo=UTC)
    assert (b.published, b.updated) == (datetime(2024, 5, 7, 12, 30, tzinfo=UTC), datetime(2024, 5, 8, 8, tzinfo=UTC))
    assert (c.published, c.updated) == (None, datetime(2024, 5, 8, 8, tzinfo=UTC))
    assert (d.published, d.updated) == (datetime(2024, 5, 1, tzinfo=UTC), None)
    assert (e.author, e.content, e.summary) == ("Ann", "<p>Body</p>", "Teaser")
    assert (f.published, f.updated) == (None, None)


def _reference_entry(raw: Any) -> ParsedEntry:
    """The adapter as it was, reading through FeedParserDict.get (key mapping, fallbacks, warnings)."""
    contents = raw.get("content") or []
    summary = feed_module._str(raw.get("summary"))
    content = feed_module._fullest([*(c.get("value") for c in contents if isinstance(c, Mapping)), summary])
    published = struct_to_datetime(raw.get("published_parsed")) or struct_to_datetime(raw.get("created_parsed"))
    return ParsedEntry(
        guid=feed_module._str(raw.get("id")),
        link=feed_module._str(raw.get("link")),
        title=feed_module._str(raw.get("title")),
        summary=summary,
        content=content,
        published=published,
        updated=struct_to_datetime(raw.get("updated_parsed")),
        author=feed_module._str(raw.get("author")),
    )


@pytest.mark.parametrize(
    "body",
    [
        ATOM_DATES,
        rss(
            "<item><title>A</title><pubDate>Tue, 07 May 2024 14:30:00 +0200</pubDate>"
            "<guid>g</guid><author>a@example.org (A)</author><description>d</description></item>"
            "<item><title>B</title></item><item><description>only text</description></item>"
        ),
    ],
    ids=["atom", "rss"],
)
def test_adapter_reads_what_feedparserdict_get_reads(body: bytes) -> None:
    raw_entries = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)["entries"]
    assert raw_entries
    for raw in raw_entries:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            expected = _reference_entry(raw)
        assert feed_module._entry(raw) == expected
        assert feed_module._entry(dict(raw)) == _reference_entry(dict(raw))  # a plain mapping: no fallback


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (time.struct_time((2024, 1, 2, 3, 4, 5, 1, 2, 0)), datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (time.struct_time((2016, 12, 31, 23, 59, 60, 5, 366, 0)), datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (time.struct_time((0, 1, 1, 0, 0, 0, 0, 1, 0)), None),
        (time.struct_time((2024, 13, 40, 0, 0, 0, 0, 1, 0)), None),
        ((99999, 1, 1, 0, 0, 0), None),
        (None, None),
    ],
    ids=["normal", "leap-second", "year-zero", "bad-month", "year-99999", "none"],
)
def test_struct_to_datetime_guards_out_of_range(value: time.struct_time | None, expected: datetime | None) -> None:
    assert struct_to_datetime(value) == expected


def test_fullest_content_wins_over_summary() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        b"<channel><item><title>A</title><description>Short teaser.</description>"
        b"<content:encoded><![CDATA[<p>The full body of the story, much longer than the teaser.</p>]]>"
        b"</content:encoded></item>"
        b"<item><title>B</title><description>A long description that is the whole story in this feed.</description>"
        b"<content:encoded>Tiny.</content:encoded></item></channel></rss>"
    )
    first, second = parse_feed(body, XML, URL).entries
    assert first.summary == "Short teaser."
    assert first.content == "<p>The full body of the story, much longer than the teaser.</p>"
    assert second.content == "A long description that is the whole story in this feed."


def test_feed_without_entries_is_a_feed() -> None:
    feed = parse_feed(rss(""), XML, URL)
    assert feed.entries == () and feed.version == "rss20"


def test_json_feed_is_read() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1", "title": "J", "items": '
        b'[{"id": "1", "url": "/p/1", "content_text": "Hello", "date_published": "2024-01-01T10:00:00Z"}]}'
    )
    feed = parse_feed(body, {"content-type": "application/feed+json"}, URL)
    assert feed.version == "json1"
    (entry,) = feed.entries
    assert entry.link == "https://feeds.example.org/p/1"
    assert entry.published == datetime(2024, 1, 1, 10, tzinfo=UTC)


def test_parser_never_reads_a_local_file_named_by_the_body() -> None:
    # feedparser opens a bytes argument naming an existing file; the adapter must hand it a stream.
    with pytest.raises(ParseError):
        parse_feed(b"/etc/hostname", {}, URL)


def test_results_and_errors_pickle() -> None:
    body = rss("<item><title>A</title><pubDate>Tue, 07 May 2024 14:30:00 +0200</pubDate></item>")
    feed = parse_feed(body, XML, URL)
    assert pickle.loads(pickle.dumps(feed)) == feed
    error = ParseError("x: not a feed")
    restored = pickle.loads(pickle.dumps(error))
    assert isinstance(restored, ParseError) and str(restored) == "x: not a feed"


def _batch(n: int) -> list[tuple[bytes, dict[str, str], str]]:
    good = rss("<item><title>A</title><link>https://example.org/a</link></item>")
    items = []
    for i in range(n):
        body = b"<html><body>not a feed</body></html>" if i % 5 == 2 else good
        items.append((body, {"content-type": "application/xml"}, f"https://example.org/{i}"))
    return items


@pytest.mark.parametrize("threshold", [1000, 2], ids=["inline", "pool"])
def test_parse_many_returns_errors_as_values_in_order(threshold: int) -> None:
    items = _batch(12)
    results = parse_many(items, workers=2, pool_threshold=threshold)
    assert len(results) == 12
    for i, result in enumerate(results):
        if i % 5 == 2:
            assert isinstance(result, ParseError) and f"https://example.org/{i}" in str(result)
        else:
            assert isinstance(result, ParsedFeed) and result.entries[0].title == "A"


def test_parse_many_empty() -> None:
    assert parse_many([], workers=0) == []
