"""A large import prepared in worker processes stores exactly what one process would.

Real articles (NewsArticles 2017, ../shared/data), with bad lines and syndicated copies mixed in, are
imported once with ``workers=1`` and once with ``workers=2`` into fresh databases: the summaries (line
numbers of the bad lines included), the stored articles, their story clusters and theme hits are equal.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.backfill import POOL_MIN_LINES, import_lines
from pipeline.config import build_matcher, load_config
from pipeline.storage.db import Database
from pipeline.storage.migrate import upgrade
from pipeline.storage.models import Article, ArticleTheme, Source


def _lines(shared_data: Path, count: int) -> list[str]:
    lines: list[str] = []
    with (shared_data / "news" / "newsarticles-2017" / "NewsArticles.csv").open(
            encoding="utf-8", errors="replace", newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            y, m, d = [*r["publish_date"].strip().split(" ")[0].split("/"), "1", "1"][:3]
            link = r["article_source_link"]
            obj = {"url": link, "title": r["title"], "text": r["text"] or r["title"],
                   "published": f"{int(y):04d}-{int(m):02d}-{int(d):02d}T12:00:00Z" if y.isdigit() else "??",
                   "source": link.split("/")[2] if "//" in link else "unknown"}
            lines.append(json.dumps(obj))
            if i % 97 == 0:  # a syndicated copy under another outlet's name and URL
                lines.append(json.dumps({**obj, "source": "copies.example", "url": f"https://copies.example/{i}"}))
            if i % 331 == 0:
                lines += ["{broken", "", json.dumps({**obj, "source": ""})]
            if len(lines) >= count:
                return lines
    return lines


def _stored(db: Database) -> dict[str, Any]:
    with db.session() as s:
        names = {i: n for i, n in s.execute(select(Source.id, Source.name))}
        rows = s.execute(select(Article.id, Article.source_id, Article.identity, Article.content_hash,
                                Article.cluster_id)).all()
        by_id = {r.id: (names[r.source_id], r.identity) for r in rows}
        themes = {(by_id[a], t) for a, t in s.execute(select(ArticleTheme.article_id, ArticleTheme.theme))}
    return {
        "articles": {by_id[r.id]: r.content_hash for r in rows},
        # Each article's story by its first article's (source, identity), not by ids.
        "stories": {by_id[r.id]: by_id[r.cluster_id] if r.cluster_id else by_id[r.id] for r in rows},
        "themes": themes,
    }


def test_a_parallel_import_equals_a_serial_one(tmp_path: Path, shared_data: Path) -> None:
    lines = _lines(shared_data, POOL_MIN_LINES + 500)
    assert len(lines) > POOL_MIN_LINES  # large enough to use the workers
    results = []
    for workers in (1, 2):
        p = tmp_path / f"config{workers}.yaml"
        p.write_text(f"database:\n  url: sqlite:///{tmp_path / f'w{workers}.db'}\nsources: []\n"
                     f"themes: {Path(__file__).resolve().parents[2] / 'seeds' / 'themes.yaml'}\n")
        cfg = load_config(p)
        db = Database(cfg.database.url)
        upgrade(db)
        summary = import_lines(cfg, db, build_matcher(cfg), iter(lines), origin="in.jsonl", workers=workers)
        results.append((summary.to_dict(), _stored(db)))
        db.dispose()
    (serial, serial_rows), (parallel, parallel_rows) = results
    assert serial == parallel
    assert serial["inserted"] > 2000 and serial["clustered"] > 20 and serial["invalid"] >= 10
    assert any(":2:" not in e and "in.jsonl:" in e for e in serial["errors"])  # line numbers kept
    assert serial_rows["articles"] == parallel_rows["articles"]
    assert serial_rows["stories"] == parallel_rows["stories"]
    assert serial_rows["themes"] == parallel_rows["themes"] and serial_rows["themes"]


def test_a_small_import_stays_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.backfill as backfill

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for a small import")

    monkeypatch.setattr(backfill, "_in_workers", no_pool)
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: sqlite:///{tmp_path / 'x.db'}\nsources: []\nthemes: []\n")
    cfg = load_config(p)
    db = Database(cfg.database.url)
    upgrade(db)
    line = json.dumps({"url": "https://a.example/1", "title": "T", "text": "Body.", "published": "2026-03-01",
                       "source": "A"})
    summary = import_lines(cfg, db, build_matcher(cfg), [line] * 10, origin="x", workers=8)
    assert (summary.lines, summary.inserted, summary.unchanged) == (10, 1, 0)
    db.dispose()


def test_a_source_named_only_by_bad_lines_is_not_created(tmp_path: Path) -> None:
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: sqlite:///{tmp_path / 'x.db'}\nsources: []\nthemes: []\n")
    cfg = load_config(p)
    db = Database(cfg.database.url)
    upgrade(db)
    good = {"url": "https://a.example/1", "title": "T", "text": "Body.", "published": "2026-03-01", "source": "A"}
    bad = {**good, "source": "B", "published": "yesterday"}
    summary = import_lines(cfg, db, build_matcher(cfg), [json.dumps(good), json.dumps(bad)], origin="x")
    assert (summary.inserted, len(summary.errors)) == (1, 1)
    with db.session() as s:
        assert set(s.scalars(select(Source.name))) == {"A"}
    db.dispose()
