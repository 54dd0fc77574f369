"""The feedparser adapter: fetched bytes and headers in, a :class:`ParsedFeed` out.

feedparser reads RSS 0.9x/1.0/2.0, Atom and CDF, copes with ill-formed XML
("bozo" documents) and sniffs encodings from the HTTP headers and the
document.  Its loose dictionaries stop here: what leaves is typed, plain
(picklable) values with aware UTC datetimes.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from pipeline.errors import ParseError
from pipeline.parse.jsonfeed import looks_like_json_feed, parse_json_feed
from pipeline.types import ParsedEntry, ParsedFeed

__all__ = ["PARSER_VERSION", "parse_feed", "struct_to_datetime"]

# What a stored digest of raw feed items depends on besides the bytes: a new feedparser may read them
# differently. Raise the suffix when this adapter does.
PARSER_VERSION = f"feedparser-{feedparser.__version__}/adapter-1"

_WARNING_CHARS = 500
_HTML_START = re.compile(rb"\s*(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
# Headers that feedparser reads when it is handed bytes rather than a URL.
_USEFUL_HEADERS = ("content-type", "content-language", "content-location")


def struct_to_datetime(value: time.struct_time | tuple[int, ...] | None) -> datetime | None:
    """feedparser's UTC ``*_parsed`` struct_time as an aware datetime; None when absent or out of range."""
    if value is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in tuple(value)[:6])
        # A leap second (60, 61) is valid in a struct_time but not in a datetime.
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _str(value: object) -> str | None:
    """A plain ``str`` (never a subclass) or None for empty and non-string values."""
    if isinstance(value, str) and value.strip():
        return str(value)
    return None


def _fullest(candidates: Iterable[object]) -> str | None:
    """The longest non-empty string among *candidates*."""
    best: str | None = None
    for candidate in candidates:
        text = _str(candidate)
        if text is not None and (best is None or len(text) > len(best)):
            best = text
    return best


def _plain(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """*raw* with plain-dict lookups: what ``FeedParserDict.get`` returns for the keys read here.

    ``FeedParserDict.get`` maps keys in Python and raises and catches a KeyError for a
    missing one, which made up most of the adapter's time.  For the keys this module
    reads it reduces to a plain lookup, except one: a missing ``updated_parsed`` falls
    back to ``published_parsed`` (with a DeprecationWarning), done here explicitly.
    """
    if not isinstance(raw, feedparser.FeedParserDict):
        return raw
    plain = dict(raw)  # FeedParserDict keeps dict's iteration, so this is a C-level copy (no __getitem__)
    if "updated_parsed" not in plain and "published_parsed" in plain:
        plain["updated_parsed"] = plain["published_parsed"]
    return plain


def _entry(raw: Mapping[str, Any]) -> ParsedEntry:
    raw = _plain(raw)
    contents = raw.get("content") or []
    summary = _str(raw.get("summary"))
    content = _fullest([*(_plain(c).get("value") for c in contents if isinstance(c, Mapping)), summary])
    published_parsed = raw.get("published_parsed")
    updated_parsed = raw.get("updated_parsed")
    from_published = struct_to_datetime(published_parsed)
    published = from_published or struct_to_datetime(raw.get("created_parsed"))
    return ParsedEntry(
        guid=_str(raw.get("id")),
        link=_str(raw.get("link")),
        title=_str(raw.get("title")),
        summary=summary,
        content=content,
        published=published,
        # Mostly the very struct of published_parsed (the fallback in _plain): converted once.
        updated=from_published if updated_parsed is published_parsed else struct_to_datetime(updated_parsed),
        author=_str(raw.get("author")),
    )


def _headers(headers: Mapping[str, str], url: str) -> dict[str, str]:
    lowered = {str(k).lower(): str(v) for k, v in headers.items() if str(k).lower() in _USEFUL_HEADERS}
    # feedparser resolves relative links against Content-Location; without a
    # network fetch of its own it knows no other base, so give it the document URL.
    location = lowered.get("content-location")
    lowered["content-location"] = urljoin(url, location) if location else url
    return lowered


def _warning(result: Mapping[str, Any]) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "ill-formed document"
    return text[:_WARNING_CHARS]


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse a fetched feed document.

    *headers* are the response headers (Content-Type carries the charset);
    *url* is the document's URL, against which relative links resolve.  An
    ill-formed document keeps every entry that could be read, with
    feedparser's complaint in ``warning``.  Raises ParseError when nothing
    feed-like can be read (no feed version and no entries: an HTML page,
    garbage, an empty body).
    """
    if not body or not body.strip():
        raise ParseError(f"{url}: empty document")
    if looks_like_json_feed(body):
        return parse_json_feed(body, url)
    try:
        # A stream, never bytes: feedparser treats a bytes/str argument that
        # names a file or URL as something to open.
        # No sanitizing and no relative-URI rewriting inside content: the HTML is never rendered, only
        # turned into plain text by normalize, and these passes (sgmllib) are most of feedparser's time.
        result = feedparser.parse(io.BytesIO(body), response_headers=_headers(headers, url),
                                  sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser wraps most of its errors in bozo; anything else is a bug on hostile input
        raise ParseError(f"{url}: feedparser failed: {type(exc).__name__}: {exc}") from exc
    entries = tuple(_entry(raw) for raw in result.get("entries", ()))
    version = _str(result.get("version"))
    if version is None and not entries:
        if _HTML_START.match(body[:512]):
            raise ParseError(f"{url}: not a feed (an HTML page; the feed URL may have moved)")
        problem = _warning(result) or "no RSS, Atom or RDF elements found"
        raise ParseError(f"{url}: not a feed ({problem})")
    feed = result.get("feed", {})
    return ParsedFeed(
        title=_str(feed.get("title")),
        link=_str(feed.get("link")),
        entries=entries,
        version=version,
        warning=_warning(result),
    )
