"""NORMALIZATION_VERSION must change whenever normalization does.

A poll skips an entry whose raw fields digest to the stored digest, and NORMALIZATION_VERSION is part of
that digest: if normalize_entry turned the same entry into a different article while the version stayed,
stored articles would keep their old form until their entry changed. This test pins what normalization
makes of real feeds (../shared/data: the news-site feeds, and the encoding and mojibake cases of
rss-parser and miniflux) under the current version; when it fails, raise NORMALIZATION_VERSION in
pipeline/normalize/article.py and pin the new figure here.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import ParseError
from pipeline.normalize.article import NORMALIZATION_VERSION, normalize_entry
from pipeline.parse.feed import parse_feed

FOLDERS = ("news-site-rss", "rss-parser-test-input", "miniflux-testdata")
PINNED = {1: "9cdbb91f3477b7960fea9aa6bcdc1f2f098846812311d5478cb9993b4b6d7536"}
FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _outputs_digest(feeds: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    count = 0
    paths = sorted(p for folder in FOLDERS for p in (feeds / folder).rglob("*")
                   if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ""))
    for path in paths:
        url = f"https://news.example/{path.name}"
        try:
            parsed = parse_feed(path.read_bytes(), {"content-type": "application/rss+xml"}, url)
        except ParseError:
            continue
        for entry in parsed.entries:
            art = normalize_entry(entry, source_id=1, feed_url=url, fetched_at=FETCHED, with_signature=False)
            if art is None:
                continue
            count += 1
            for part in (art.identity, art.url or "", art.title, art.text, art.content_hash,
                         art.published_at.isoformat(), str(art.date_estimated)):
                h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return count, h.hexdigest()


def test_normalization_output_is_pinned_to_its_version(shared_data: Path) -> None:
    count, digest = _outputs_digest(shared_data / "feeds")
    assert count > 500
    assert PINNED.get(NORMALIZATION_VERSION) == digest, (
        f"normalize_entry's output changed (now {digest} over {count} entries) under NORMALIZATION_VERSION "
        f"{NORMALIZATION_VERSION}: raise the version in pipeline/normalize/article.py and pin the new digest "
        "here, so that polls normalize stored entries again instead of skipping them as unchanged")
