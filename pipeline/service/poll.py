"""One poll cycle: claim due feeds, fetch them concurrently, process on all cores, store.

Fetching runs in an asyncio loop on a background thread and hands each result over
as soon as it arrives; the CPU-bound parse/normalize/tag step runs in a process pool
(inline when there are few feeds); the main thread writes one feed per transaction.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import queue
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.fetch import fetch_all
from pipeline.service.workers import LazyMatcher, ServicePool, fork_pool, process_in_worker
from pipeline.storage.sources import FeedOutcome, SourceSpec, claim_due, release_leases, sync_sources
from pipeline.types import FetchResult, SourceForUpdate
from pipeline.update import FeedUpdate, process_feed, store_feeds, stored_entries_reader

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.storage.db import Database
    from pipeline.themes import Matcher

log = logging.getLogger(__name__)

LIGHT_BATCH = 100  # body-less outcomes written per transaction
HEAVY_ARTICLES = 2000  # articles written per transaction (fewer, larger commits write fewer index pages)
POOL_THRESHOLD = 8  # fewer bodies than this are processed inline: a pool costs more than it saves


@dataclass(slots=True)
class PollSummary:
    """What one cycle did."""

    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    articles_stored: int = 0
    entries_skipped: int = 0  # entries read but not stored (each feed's warning says how many and why)
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"feeds": self.feeds, "ok": self.ok, "not_modified": self.not_modified, "failed": self.failed,
                "articles_stored": self.articles_stored,
                "entries_skipped": self.entries_skipped, "seconds": round(self.seconds, 3), "errors": self.errors}


def freeze_startup_heap() -> None:
    """Exclude the objects made so far (modules, config, schema, compiled themes) from garbage collection.

    Call once, after start-up and before the first cycle. A cold poll keeps thousands of processed
    articles alive between fetch and commit, which triggers full collections, and each full collection
    walked the whole start-up heap: 10 of them cost the main process 0.67 s of a 6 s poll. Frozen objects
    are never scanned (nor written to by the collector, so forked workers share their pages). Start-up
    objects live as long as the process anyway; garbage made later is collected as usual.
    """
    gc.collect()
    gc.freeze()


def worker_id(cfg: Config) -> str:
    return cfg.service.worker_id or f"{socket.gethostname()}:{os.getpid()}"


def source_specs(cfg: Config) -> list[SourceSpec]:
    return [SourceSpec(name=s.name, url=s.url, enabled=s.enabled) for s in cfg.sources]


def poll_once(cfg: Config, db: Database, matcher: Matcher | Callable[[], Matcher], *, all_sources: bool = False,
              now: Callable[[], datetime] | None = None, workers: int | None = None,
              progress: Callable[[int, int], None] | None = None, pool: ServicePool | None = None) -> PollSummary:
    """Run one cycle over due feeds (or every enabled feed); never raises for a bad feed.

    ``matcher`` is the compiled themes or a function that compiles them, called (once per process) only
    when a feed has a new body to tag.

    Feeds are leased in batches of ``service.claim_batch``, so several workers on one PostgreSQL
    share a cycle's feeds (``FOR UPDATE SKIP LOCKED``) instead of the first one taking them all.

    Without ``pool`` the cycle forks its own worker processes (the caller must be single-threaded, as
    ``pipeline poll`` is); a service passes its :class:`~pipeline.service.workers.ServicePool`.
    """
    clock = now or (lambda: datetime.now(UTC))
    started = clock()
    owner = worker_id(cfg)
    with db.session() as s:
        sync_sources(s, source_specs(cfg), started)
    themes = LazyMatcher(matcher)
    cycle = _Cycle(cfg, db, themes, clock, progress)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    executor: ProcessPoolExecutor | None = None
    own_pool = pool is None

    def claim() -> list[SourceForUpdate]:
        with db.session() as s:
            claimed = claim_due(s, now=clock(), owner=owner, lease=timedelta(seconds=cfg.service.lease_seconds),
                                all_enabled=all_sources, polled_before=started, limit=cfg.service.claim_batch)
        cycle.summary.feeds += len(claimed)
        return claimed

    try:
        first = claim()
        if first:
            if len(first) >= POOL_THRESHOLD and n_workers > 1:
                executor = fork_pool(cfg, themes, n_workers, db.url) if pool is None else pool.get()
            cycle.run(first, claim, executor)
    finally:
        if executor is not None and own_pool:
            executor.shutdown(wait=True, cancel_futures=True)
        with db.session() as s:
            release_leases(s, owner)
    cycle.summary.seconds = (clock() - started).total_seconds()
    return cycle.summary


class _Cycle:
    """The state of one poll cycle: fetch a batch on a thread, process on the pool, store here."""

    def __init__(self, cfg: Config, db: Database, matcher: LazyMatcher, clock: Callable[[], datetime],
                 progress: Callable[[int, int], None] | None) -> None:
        self.cfg, self.db, self.matcher, self.clock, self.progress = cfg, db, matcher, clock, progress
        self.summary = PollSummary()
        self.owner = worker_id(cfg)
        self.rng = random.Random()
        self.intervals = {s.name: timedelta(minutes=s.poll_interval_minutes)
                          for s in cfg.sources if s.poll_interval_minutes}
        self.by_id: dict[int, SourceForUpdate] = {}
        self.stored = stored_entries_reader(db)  # for feeds processed here, when no pool runs

    def run(self, claimed: list[SourceForUpdate], claim_more: Callable[[], list[SourceForUpdate]],
            pool: ProcessPoolExecutor | None) -> None:
        """Fetch, process and store ``claimed``, and every batch ``claim_more`` hands out after it.

        The next batch is claimed as soon as the current one is fetched, not when it is stored, so the
        workers never wait for a batch boundary (feeds still being processed keep their lease, so they are
        not handed out twice).
        """
        results: queue.Queue[FetchResult | None] = queue.Queue()
        fetcher = self._fetch(claimed, results)
        pending: dict[Future[FeedUpdate], FetchResult] = {}
        light: list[FeedUpdate] = []  # body-less results (304s, errors), written together
        heavy: list[FeedUpdate] = []  # processed feeds waiting to be stored
        try:
            fetching = True
            while fetching or pending:
                idle = False
                try:
                    item = results.get(timeout=0.05 if pending else 1.0)
                except queue.Empty:
                    item, idle = None, True
                if item is None and not idle:  # the fetch thread's end marker: on to the next batch
                    fetcher.join()
                    more = claim_more()
                    if more:
                        fetcher = self._fetch(more, results)
                    else:
                        fetching = False
                elif item is not None and item.body is None:
                    light.append(FeedUpdate(fetch=item))
                elif item is not None:
                    # What the last document's items were: only new ones are parsed.
                    item = replace(item, known_items=_known_items(self.by_id[item.source_id]))
                    if pool is None:
                        heavy.append(process_feed(item, self.cfg, self.matcher.get(), self.stored))
                    else:
                        try:
                            pending[pool.submit(process_in_worker, item)] = item
                        except BrokenProcessPool as exc:  # a worker died: this feed fails, the cycle goes on
                            heavy.append(_crashed(item, exc))
                for fut in [f for f in pending if f.done()]:
                    heavy.append(_result_or_error(fut, pending.pop(fut)))
                # Outcomes are written in batches (a commit each costs more than a feed's rows), and at
                # once whenever the queue goes quiet; a failing batch is retried feed by feed.
                quiet = idle or not fetching
                if len(light) >= LIGHT_BATCH or (light and quiet):
                    self.finish(light)
                    light = []
                # Processed feeds are stored together too, once enough articles wait, the queue is quiet, or
                # the pool has nothing left in hand (storing then costs no parallelism).
                drained = pool is not None and not pending
                if sum(len(u.articles) for u in heavy) >= HEAVY_ARTICLES or (heavy and (quiet or drained)):
                    self.finish(heavy)
                    heavy = []
            self.finish(light)
            self.finish(heavy)
        finally:
            fetcher.join(timeout=5)

    def _fetch(self, sources: list[SourceForUpdate], out: queue.Queue[FetchResult | None]) -> threading.Thread:
        """Start fetching ``sources`` on a thread that puts each result on ``out``, then None."""
        self.by_id.update({c.id: c for c in sources})
        fetcher = threading.Thread(target=_fetch_thread, args=(sources, self.cfg, out), name="fetch", daemon=True)
        fetcher.start()
        return fetcher

    def finish(self, updates: list[FeedUpdate]) -> None:
        if not updates:
            return
        srcs = [self.by_id[u.fetch.source_id] for u in updates]
        try:
            outcomes = store_feeds(self.db, [(u, self.intervals.get(src.name)) for u, src in
                                             zip(updates, srcs, strict=True)], self.cfg, now=self.clock(), rng=self.rng,
                                   owner=self.owner)
        except Exception as exc:  # whatever one feed's rows do, it is that feed's error, never the cycle's
            if len(updates) > 1:  # retry one by one so one bad feed does not fail its neighbours
                for u in updates:
                    self.finish([u])
                return
            self.storage_failed(updates[0], srcs[0], exc)
            return
        for src, outcome in zip(srcs, outcomes, strict=True):
            self.account(src, outcome)

    def storage_failed(self, update: FeedUpdate, src: SourceForUpdate, exc: Exception) -> None:
        """Record a feed whose rows could not be stored as a failed poll (counted, backed off, visible)."""
        message = f"storing the feed's entries failed: {exc.__class__.__name__}: {exc}".splitlines()[0][:500]
        log.error("feed %s: %s", src.name, message)
        failed = FeedUpdate(fetch=replace(update.fetch, body=None), error=message)
        try:
            (outcome,) = store_feeds(self.db, [(failed, self.intervals.get(src.name))], self.cfg, now=self.clock(),
                                     rng=self.rng, owner=self.owner)
        except Exception:  # the database itself is failing: report, and let the lease expire
            log.exception("recording the failure of feed %s failed too", src.name)
            self.summary.failed += 1
            self.summary.errors.append({"source": src.name, "kind": "storage", "error": message})
            return
        self.account(src, replace(outcome, error_kind="storage"))

    def account(self, src: SourceForUpdate, outcome: FeedOutcome) -> None:
        summary = self.summary
        if outcome.ok:
            summary.ok += 1
            summary.not_modified += int(outcome.not_modified)
            summary.articles_stored += outcome.stored
            summary.entries_skipped += outcome.skipped
        else:
            summary.failed += 1
            summary.errors.append({"source": src.name, "kind": outcome.error_kind, "error": outcome.error})
            log.warning("feed %s failed: %s", src.name, outcome.error)
        if self.progress:
            self.progress(summary.ok + summary.failed, summary.feeds)


def _known_items(src: SourceForUpdate) -> bytes:
    """The raw-item digests of a source's last document (b"" when there are none yet: a first document,
    or one expat could not read). Every new document is scanned, so the next one can skip what it repeats:
    the scan costs about 6 % of parsing a document (0.8 ms for 50 items against feedparser's 14.5)."""
    return src.item_digests or b""


def _result_or_error(fut: Future[FeedUpdate], fetch: FetchResult) -> FeedUpdate:
    try:
        return fut.result()
    except Exception as exc:  # a crash while processing is that feed's recorded error, not the cycle's
        return _crashed(fetch, exc)


def _crashed(fetch: FetchResult, exc: Exception) -> FeedUpdate:
    """A feed whose processing failed (or whose worker died: the feed may be what killed it, so it is not
    retried in this process): a recorded error, retried at the next poll with the usual backoff."""
    log.error("processing %s failed: %s: %s", fetch.url, exc.__class__.__name__, exc)
    return FeedUpdate(fetch=fetch, error=f"processing the feed failed: {exc.__class__.__name__}: {exc}")


def _fetch_thread(sources: list[SourceForUpdate], cfg: Config, out: queue.Queue[FetchResult | None]) -> None:
    async def run() -> None:
        async for result in fetch_all(sources, cfg.fetch):
            out.put(result)

    try:
        asyncio.run(run())
    except Exception:  # fetch_all reports per-feed errors as data; this is a bug guard
        log.exception("fetch loop failed")
    finally:
        out.put(None)
