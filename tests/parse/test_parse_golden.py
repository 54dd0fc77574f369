"""Golden feeds: each document in tests/data/golden is paired with ``<stem>.expected.json``.

The expected file gives the URL and headers the document is parsed with, then the feed,
every entry, and the article each entry normalizes to; all are compared field by field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.normalize import normalize_entry
from pipeline.parse import parse_feed
from pipeline.types import ArticleData, ParsedEntry

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
DOCUMENTS = sorted(p for p in GOLDEN.iterdir() if not p.name.endswith(".expected.json"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _entry_fields(entry: ParsedEntry) -> dict[str, Any]:
    return {
        "guid": entry.guid,
        "link": entry.link,
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "published": _iso(entry.published),
        "updated": _iso(entry.updated),
        "author": entry.author,
    }


def _article_fields(article: ArticleData | None) -> dict[str, Any] | None:
    if article is None:
        return None
    return {
        "identity": article.identity,
        "url": article.url,
        "title": article.title,
        "text": article.text,
        "published_at": _iso(article.published_at),
        "date_estimated": article.date_estimated,
        "has_signature": bool(article.shingle_signature),
    }


def test_every_golden_document_has_its_expected_output() -> None:
    assert len(DOCUMENTS) >= 6
    for doc in DOCUMENTS:
        assert (GOLDEN / f"{doc.stem}.expected.json").is_file(), doc.name


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.name)
def test_golden_feed(doc: Path) -> None:
    expected = json.loads((GOLDEN / f"{doc.stem}.expected.json").read_text(encoding="utf-8"))
    parsed = parse_feed(doc.read_bytes(), expected["headers"], expected["url"])

    feed = expected["feed"]
    assert parsed.title == feed["title"]
    assert parsed.link == feed["link"]
    assert parsed.version == feed["version"]
    assert (parsed.warning is not None) == feed["bozo"], parsed.warning
    if "warning_contains" in feed:
        assert parsed.warning is not None and feed["warning_contains"] in parsed.warning

    assert len(parsed.entries) == len(expected["entries"])
    for i, (entry, want) in enumerate(zip(parsed.entries, expected["entries"], strict=True)):
        got = _entry_fields(entry)
        for key, value in want.items():
            assert got[key] == value, f"entry {i} field {key}"
        for when in (entry.published, entry.updated):
            assert when is None or when.tzinfo is UTC

    fetched_at = datetime.fromisoformat(expected["fetched_at"])
    articles = [
        normalize_entry(e, source_id=1, feed_url=expected["url"], fetched_at=fetched_at) for e in parsed.entries
    ]
    for i, (article, want) in enumerate(zip(articles, expected["articles"], strict=True)):
        fields = _article_fields(article)
        if want is None:
            assert fields is None, f"article {i}"
            continue
        assert fields is not None, f"article {i}"
        for key, value in want.items():
            assert fields[key] == value, f"article {i} field {key}"
