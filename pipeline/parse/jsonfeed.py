"""JSON Feed (https://jsonfeed.org, versions 1 and 1.1), which feedparser 6.0 does not read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from pipeline.errors import ParseError
from pipeline.types import ParsedEntry, ParsedFeed

__all__ = ["looks_like_json_feed", "parse_json_feed"]

_VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json_feed(body: bytes) -> bool:
    """True when the document is a JSON object (its first character is ``{``), whatever its media type says."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _str(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None


def _date(value: object) -> datetime | None:
    """An RFC 3339 date as aware UTC, None when absent or unreadable."""
    text = _str(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        return None


def _author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    names = [_str(a.get("name")) for a in candidates if isinstance(a, Mapping)]
    joined = ", ".join(n for n in names if n)
    return joined or None


def _link(value: object, base: str) -> str | None:
    text = _str(value)
    return urljoin(base, text.strip()) if text else None


def _entry(item: Mapping[str, Any], base: str) -> ParsedEntry:
    html, plain, summary = _str(item.get("content_html")), _str(item.get("content_text")), _str(item.get("summary"))
    content = max((c for c in (html, plain, summary) if c), key=len, default=None)
    item_id = item.get("id")
    guid = _str(str(item_id)) if isinstance(item_id, (str, int)) and not isinstance(item_id, bool) else None
    return ParsedEntry(
        guid=guid,
        link=_link(item.get("url"), base) or _link(item.get("external_url"), base),
        title=_str(item.get("title")),
        summary=summary,
        content=content,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        author=_author(item),
    )


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed document; ParseError when it is not JSON or not a JSON Feed."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"{url}: not a feed (invalid JSON: {exc})") from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIX):
        raise ParseError(f"{url}: not a feed (JSON without a jsonfeed.org version)")
    items = doc.get("items")
    entries = tuple(_entry(i, url) for i in items if isinstance(i, Mapping)) if isinstance(items, list) else ()
    warning = None if isinstance(items, list) else "JSON Feed without an 'items' list"
    return ParsedFeed(
        title=_str(doc.get("title")),
        link=_link(doc.get("home_page_url"), url),
        entries=entries,
        version="json" + version.removeprefix(_VERSION_PREFIX).replace(".", ""),
        warning=warning,
    )
