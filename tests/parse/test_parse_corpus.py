"""The whole real-world and torture-case corpus in shared/data/feeds goes through parse_feed.

Nothing may escape as an unhandled exception: a document either parses (possibly with a
warning) or is a ParseError value.  The figures are printed (``pytest -s``) and held to floors
measured when this test was written, so a regression that loses entries shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import ParseError
from pipeline.parse import parse_many
from pipeline.types import ParsedFeed

pytestmark = pytest.mark.slow

FEEDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "feeds"
_SKIP_NAMES = ("LICENSE", "README", "MANIFEST")
_EXPECT = re.compile(rb"Expect:\s*(.*)")


def _content_type(path: Path) -> str:
    return {".html": "text/html", ".json": "application/json", ".txt": "text/plain"}.get(path.suffix, "application/xml")


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Path, ParsedFeed | ParseError]]:
    if not FEEDS.is_dir():
        pytest.skip(f"shared test data not found at {FEEDS}")
    files = sorted(p for p in FEEDS.rglob("*") if p.is_file() and not p.name.startswith(_SKIP_NAMES))
    items = [
        (p.read_bytes(), {"content-type": _content_type(p)}, f"https://corpus.test/{p.relative_to(FEEDS)}")
        for p in files
    ]
    return list(zip(files, parse_many(items, workers=0), strict=True))


def test_corpus_parses_without_unhandled_errors(corpus: list[tuple[Path, ParsedFeed | ParseError]]) -> None:
    feeds = [r for _, r in corpus if isinstance(r, ParsedFeed)]
    errors = [(p, r) for p, r in corpus if isinstance(r, ParseError)]
    entries = sum(len(f.entries) for f in feeds)
    warned = sum(1 for f in feeds if f.warning)
    print(
        f"\ncorpus: {len(corpus)} documents, {len(feeds)} feeds ({warned} with warnings), "
        f"{len(errors)} parse errors, {entries} entries"
    )
    unexpected = [(p.name, str(r)) for p, r in errors if "unexpected" in str(r) or "feedparser failed" in str(r)]
    assert unexpected == []
    for path, error in errors:
        assert "not a feed" in str(error) or "empty document" in str(error), (path, error)
        assert "https://corpus.test/" in str(error)
    assert len(corpus) > 2300
    assert len(errors) < 60  # measured: 31 (HTML pages, text lists, entry fragments, empty CDF channels)
    assert entries > 5000  # measured: 5,721


def test_torture_cases_that_expect_entries_yield_them(corpus: list[tuple[Path, ParsedFeed | ParseError]]) -> None:
    """feedparser's own cases whose expectation reads an entry must give at least one entry here."""
    missing = []
    checked = 0
    for path, result in corpus:
        if "feedparser-tests" not in path.parts:
            continue
        match = _EXPECT.search(path.read_bytes()[:2000])
        if not match or b"entries[0]" not in match.group(1):
            continue
        checked += 1
        if not isinstance(result, ParsedFeed) or not result.entries:
            missing.append(path.name)
    assert checked > 500
    assert missing == []


def test_every_value_is_typed(corpus: list[tuple[Path, ParsedFeed | ParseError]]) -> None:
    for _, result in corpus:
        if isinstance(result, ParseError):
            continue
        for entry in result.entries:
            for value in (entry.guid, entry.link, entry.title, entry.summary, entry.content, entry.author):
                assert value is None or type(value) is str
            for when in (entry.published, entry.updated):
                assert when is None or when.utcoffset() is not None
