"""Parsing and normalization speed on the shared feed corpus (about 2,400 documents).

Run: ``python bench/bench_parse.py [path/to/feeds]`` (default: the shared test data beside the
repository).  Prints documents, entries, parse errors, time inline and with the process pool, and
the time to normalize every entry.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import ParseError
from pipeline.normalize import normalize_entry
from pipeline.parse import parse_many
from pipeline.types import ParsedFeed

DEFAULT_FEEDS = Path(__file__).resolve().parents[2] / "shared/data/feeds"


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FEEDS
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and not p.name.startswith(("LICENSE", "README", "MANIFEST"))
    )
    items = [(p.read_bytes(), {"content-type": "application/xml"}, f"https://bench.test/{p.name}") for p in files]
    megabytes = sum(len(b) for b, _, _ in items) / 1e6

    start = time.perf_counter()
    inline = parse_many(items, workers=1)
    t_inline = time.perf_counter() - start
    start = time.perf_counter()
    pooled = parse_many(items, workers=0, pool_threshold=1)
    t_pool = time.perf_counter() - start
    assert [type(r) for r in inline] == [type(r) for r in pooled]

    feeds = [r for r in inline if isinstance(r, ParsedFeed)]
    errors = sum(1 for r in inline if isinstance(r, ParseError))
    entries = [(e, f"https://bench.test/{i}") for i, f in enumerate(feeds) for e in f.entries]
    print(
        f"documents: {len(items)} ({megabytes:.1f} MB); feeds: {len(feeds)}; parse errors: {errors}; "
        f"entries: {len(entries)}"
    )
    print(
        f"parse inline: {t_inline:.2f} s ({t_inline / len(items) * 1000:.2f} ms/document); process pool: {t_pool:.2f} s"
    )

    fetched = datetime.now(UTC)
    start = time.perf_counter()
    articles = [normalize_entry(e, source_id=1, feed_url=u, fetched_at=fetched) for e, u in entries]
    t_norm = time.perf_counter() - start
    kept = sum(1 for a in articles if a is not None)
    print(
        f"normalize: {kept} articles of {len(entries)} entries in {t_norm:.2f} s "
        f"({t_norm / max(len(entries), 1) * 1000:.3f} ms/entry)"
    )


if __name__ == "__main__":
    main()
