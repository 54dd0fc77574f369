"""A cycle stores many feeds per transaction: each keeps its own counts, copies across feeds form one story,
one feed whose rows fail is recorded alone, and the themes are compiled only when a body needs tagging."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import pipeline.update  # noqa: E402
from pipeline.config import Config, build_matcher, load_config  # noqa: E402
from pipeline.service.poll import poll_once  # noqa: E402
from pipeline.storage.db import Database  # noqa: E402
from pipeline.storage.migrate import upgrade  # noqa: E402
from pipeline.storage.models import Article, ArticleTheme  # noqa: E402
from pipeline.storage.sources import list_sources  # noqa: E402
from tests.core.test_poll_cycle import rss  # noqa: E402
from tests.support.feedserver import FeedServer, Reply  # noqa: E402

WIRE = ("Officials said on Tuesday that the returning fighters had been detained at the border crossing after "
        "a long journey from the north, and that prosecutors were preparing charges against several of them "
        "while families waited outside the court for news of their relatives, many of whom had been missing "
        "for years since the fighting began in the region and the towns along the river were taken.")


def wire_feed(name: str) -> bytes:
    item = (f"<item><title>{name}: fighters detained at the border</title><link>https://{name}.example/wire</link>"
            f"<guid>{name}-wire</guid><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate>"
            f"<description>{WIRE}</description></item>")
    return rss(name, 2).replace(b"</channel>", item.encode() + b"</channel>")


def setup(tmp_path: Path, db_url: str, server: FeedServer, feeds: dict[str, bytes]) -> tuple[Config, Database]:
    urls = {name: server.add(f"/{name}", Reply(body=body, etag=f'"{name}"')) for name, body in feeds.items()}
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: {db_url}\nthemes: []\nfetch:\n  allow_private_networks: true\nsources:\n"
                 + "".join(f"  - name: {n}\n    url: {u}\n" for n, u in urls.items()))
    cfg = load_config(p)
    db = Database(cfg.database.url)
    upgrade(db)
    return cfg, db


def counting(cfg: Config) -> tuple[Callable[[], Any], list[int]]:
    calls: list[int] = []

    def make() -> Any:
        calls.append(1)
        return build_matcher(cfg)

    return make, calls


def test_feeds_stored_together_keep_their_own_counts_and_share_clusters(tmp_path: Path, db_url: str) -> None:
    feeds = {f"f{i}": rss(f"f{i}", i + 1) for i in range(8)}
    feeds |= {"wire_a": wire_feed("wire_a"), "wire_b": wire_feed("wire_b")}
    with FeedServer() as server:
        cfg, db = setup(tmp_path, db_url, server, feeds)
        summary = poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=1)
    assert summary.failed == 0 and summary.articles_stored == sum(range(1, 9)) + 2 * 3
    with db.session() as s:
        stored = {row.name: row.entries_stored for row in list_sources(s)}
        clusters = s.execute(select(Article.identity, func.coalesce(Article.cluster_id, Article.id))
                             .where(Article.identity.like("%wire"))).all()
    assert stored == {f"f{i}": i + 1 for i in range(8)} | {"wire_a": 3, "wire_b": 3}
    assert len(clusters) == 2 and len({c for _, c in clusters}) == 1, clusters  # one story, two copies
    db.dispose()


def test_a_feed_whose_rows_fail_is_recorded_alone(tmp_path: Path, db_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    feeds = {f"f{i}": rss(f"f{i}", 3) for i in range(5)} | {"poison": rss("poison", 3)}
    real = pipeline.update.store_batch

    def failing(session: Any, items: Any, cfg: Any, *, now: Any) -> Any:
        if any(it.data.title.startswith("poison") for it in items):
            raise RuntimeError("disk says no")
        return real(session, items, cfg, now=now)

    monkeypatch.setattr(pipeline.update, "store_batch", failing)
    with FeedServer() as server:
        cfg, db = setup(tmp_path, db_url, server, feeds)
        summary = poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=1)
    assert summary.articles_stored == 15 and summary.failed == 1
    assert summary.errors[0]["source"] == "poison" and summary.errors[0]["kind"] == "storage"
    with db.session() as s:
        rows = {row.name: row for row in list_sources(s)}
    assert all(rows[f"f{i}"].entries_stored == 3 and rows[f"f{i}"].status == "ok" for i in range(5))
    assert rows["poison"].status == "error" and "disk says no" in (rows["poison"].last_error or "")
    db.dispose()


def test_themes_are_compiled_only_when_a_body_needs_tagging(tmp_path: Path, db_url: str) -> None:
    with FeedServer() as server:
        cfg, db = setup(tmp_path, db_url, server, {"a": rss("a", 2), "b": rss("b", 2)})
        make, calls = counting(cfg)
        first = poll_once(cfg, db, make, all_sources=True, workers=1)
        assert first.articles_stored == 4 and len(calls) == 1  # compiled once for the cycle, not per feed
        make, calls = counting(cfg)
        second = poll_once(cfg, db, make, all_sources=True, workers=1)
    assert second.not_modified == 2 and calls == []  # nothing new: the themes were never compiled
    db.dispose()


def test_the_start_up_heap_is_frozen_not_collection_disabled() -> None:
    import gc

    from pipeline.service.poll import freeze_startup_heap

    try:
        freeze_startup_heap()
        assert gc.isenabled() and gc.get_freeze_count() > 0  # later garbage is still collected
    finally:
        gc.unfreeze()


RETURNEES = ("Hundreds of Islamic State fighters are returning to their home countries from Syria and Iraq, "
             "and officials warned that the returning foreign terrorist fighters pose a growing threat.")


def test_a_service_pool_serves_many_cycles_and_replaces_dead_workers(tmp_path: Path, db_url: str) -> None:
    """The service's workers start through a fork server (safe beside its threads), build the themes
    themselves, live across cycles, and a pool whose worker was killed is replaced, not reused."""
    import os
    import signal
    import time

    from pipeline.service.workers import ServicePool

    feeds = {f"f{i}": rss(f"f{i}", 2, extra=RETURNEES) for i in range(10)}
    with FeedServer() as server:
        urls = {name: server.add(f"/{name}", Reply(body=body)) for name, body in feeds.items()}
        p = tmp_path / "config.yaml"
        p.write_text(f"database:\n  url: {db_url}\nthemes: {_ROOT / 'seeds' / 'themes.yaml'}\n"
                     "fetch:\n  allow_private_networks: true\nsources:\n"
                     + "".join(f"  - name: {n}\n    url: {u}\n" for n, u in urls.items()))
        cfg = load_config(p)
        db = Database(cfg.database.url)
        upgrade(db)
        pool = ServicePool(cfg, db.url, workers=2)
        try:
            first = poll_once(cfg, db, build_matcher(cfg), all_sources=True, pool=pool)
            executor = pool.get()
            for pid in list(executor._processes):  # a worker dies between cycles (OOM killer, operator)
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while pool.get() is executor and time.monotonic() < deadline:  # noticed once the death is seen
                time.sleep(0.05)
            assert pool.get() is not executor
            for name in feeds:  # new items, so the next cycle has bodies to process
                server.add(f"/{name}", Reply(body=rss(f"{name}b", 3, extra=RETURNEES)))
            second = poll_once(cfg, db, build_matcher(cfg), all_sources=True, pool=pool)
        finally:
            pool.shutdown()
    assert (first.articles_stored, first.failed) == (20, 0)
    assert (second.articles_stored, second.failed) == (30, 0), second.errors
    with db.session() as s:
        tagged = s.scalar(select(func.count()).select_from(ArticleTheme)
                          .where(ArticleTheme.theme == "returning_fighters"))
    assert tagged == 50  # the workers' own matcher tagged every article
    db.dispose()


def test_a_broken_pool_fails_its_feeds_not_the_cycle(tmp_path: Path, db_url: str) -> None:
    import os
    import signal
    import time
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from pipeline.service.workers import ServicePool

    broken = ProcessPoolExecutor(2, mp_context=get_context("fork"))
    pid = broken.submit(os.getpid).result()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not broken._broken and time.monotonic() < deadline:
        time.sleep(0.05)

    class Stuck(ServicePool):
        def get(self) -> ProcessPoolExecutor:
            return broken  # as if the death went unnoticed until the cycle submitted work

    with FeedServer() as server:
        cfg, db = setup(tmp_path, db_url, server, {f"f{i}": rss(f"f{i}", 2) for i in range(9)})
        summary = poll_once(cfg, db, build_matcher(cfg), all_sources=True, pool=Stuck(cfg, db.url, workers=2))
        again = poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=1)
    broken.shutdown(wait=False)
    assert (summary.feeds, summary.failed) == (9, 9)
    assert all("BrokenProcessPool" in e["error"] for e in summary.errors)
    assert again.articles_stored == 18  # nothing stayed leased: the next cycle polls them all
    db.dispose()
