"""Several workers on one database: each due feed is leased to exactly one of them."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from pipeline.config import build_matcher, load_config  # noqa: E402
from pipeline.service.poll import PollSummary, poll_once  # noqa: E402
from pipeline.storage.db import Database  # noqa: E402
from pipeline.storage.migrate import upgrade  # noqa: E402
from tests.core.test_poll_cycle import rss  # noqa: E402
from tests.support.feedserver import FeedServer, Reply  # noqa: E402


def test_two_workers_share_the_feeds_without_overlap(tmp_path: Path, db_url: str) -> None:
    with FeedServer() as server:
        urls = [server.add(f"/f{i}", Reply(body=rss(f"w{i}", 2), delay=0.3)) for i in range(24)]
        configs = []
        for w in ("worker-a", "worker-b"):
            p = tmp_path / f"{w}.yaml"
            p.write_text(f"database:\n  url: {db_url}\nthemes: []\nfetch:\n  allow_private_networks: true\n"
                         f"  max_concurrency: 4\nservice:\n  worker_id: {w}\n  claim_batch: 3\nsources:\n"
                         + "".join(f"  - name: f{i}\n    url: {u}\n" for i, u in enumerate(urls)))
            configs.append(load_config(p))
        db = Database(configs[0].database.url)
        upgrade(db)
        summaries: list[PollSummary] = []
        ready = threading.Barrier(2)

        def work(i: int) -> None:
            cfg = configs[i]
            handle, matcher = Database(cfg.database.url), build_matcher(cfg)
            ready.wait()  # both start their cycle together
            summaries.append(poll_once(cfg, handle, matcher, workers=1))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        fetched = {u: len(server.hits(u.rsplit("/", 1)[1].join(["/", ""]))) for u in urls}
    assert len(summaries) == 2, "a worker failed"
    assert all(s.feeds > 0 for s in summaries), [s.feeds for s in summaries]  # both got a share
    assert all(n == 1 for n in fetched.values()), fetched
    assert sum(s.feeds for s in summaries) == 24
    assert sum(s.articles_stored for s in summaries) == 48
    db.dispose()


def test_an_outcome_from_an_expired_lease_is_not_recorded(migrated_db: Database) -> None:
    """A worker whose lease ran out must not overwrite the result of the worker holding the feed now."""
    from datetime import UTC, datetime, timedelta

    from pipeline.storage.sources import FeedOutcome, SourceSpec, claim_due, list_sources, record_outcome, sync_sources

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with migrated_db.session() as s:
        sync_sources(s, [SourceSpec(name="a", url="http://127.0.0.1:9/a")], t0)
    with migrated_db.session() as s:
        (mine,) = claim_due(s, now=t0, owner="A", lease=timedelta(minutes=10))
    with migrated_db.session() as s:  # A's lease has expired: B takes the feed
        (theirs,) = claim_due(s, now=t0 + timedelta(minutes=11), owner="B", lease=timedelta(minutes=10))
    late = FeedOutcome(source_id=mine.id, polled_at=t0, next_poll_at=t0 + timedelta(minutes=30), ok=False,
                       error="late failure", error_kind="timeout", owner="A")
    with migrated_db.session() as s:
        record_outcome(s, late)
    with migrated_db.session() as s:
        (row,) = list_sources(s)
        assert row.error_count == 0 and row.lease_owner == "B"
    with migrated_db.session() as s:
        record_outcome(s, FeedOutcome(source_id=theirs.id, polled_at=t0, next_poll_at=t0, ok=True, owner="B"))
    with migrated_db.session() as s:
        (row,) = list_sources(s)
        assert row.status == "ok" and row.lease_owner is None


def test_one_worker_at_a_time_runs_detection(migrated_db: Database) -> None:
    from pipeline.storage.signals import detection_lock

    with detection_lock(migrated_db) as first:
        assert first
        with detection_lock(migrated_db) as second:
            # PostgreSQL: the advisory lock is taken; SQLite: one machine, one scheduler, always allowed.
            assert second is (migrated_db.dialect != "postgresql")
    with detection_lock(migrated_db) as again:
        assert again
