"""The processes that parse, normalize and tag fetched feeds for a poll cycle.

Two ways to get them, by what the calling process is doing:

- ``pipeline poll`` is single-threaded when its cycle starts, so :func:`fork_pool` forks the workers
  there and then: they inherit the loaded modules, the config and the compiled themes, nothing pickled.
- ``pipeline run`` is not: the scheduler, its jobs and the web server run threads, and a process forked
  while another thread holds a lock (a log handler's, a stream buffer's) hands that held lock to the
  child, which can then hang for good. :class:`ServicePool` starts its workers through a fork server (a
  clean single-threaded process started once), keeps them across cycles, and replaces them if one dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TYPE_CHECKING, Any

from pipeline.update import FeedUpdate, StoredReader, process_feed, stored_entries_reader

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.storage.articles import StoredEntry
    from pipeline.themes import Matcher
    from pipeline.types import FetchResult

log = logging.getLogger(__name__)

# What a fork-server worker imports before its first feed (a forked one already has it all).
_PRELOAD = ["pipeline.service.workers", "pipeline.parse.feed", "pipeline.normalize.article", "pipeline.themes.matcher",
            "pipeline.config"]


class LazyMatcher:
    """The compiled themes, built on first use: a cycle whose feeds are all unchanged never compiles them
    (the theme file itself was already checked when the config was loaded)."""

    def __init__(self, source: Matcher | Callable[[], Matcher]) -> None:
        self._make: Callable[[], Matcher] | None = source if callable(source) else None
        self._built: Matcher | None = None if callable(source) else source

    def get(self) -> Matcher:
        if self._built is None:
            assert self._make is not None
            self._built = self._make()
        return self._built


# --- worker-process state: the config and the (lazily compiled) matcher ----------------------------------
_W: dict[str, Any] = {}


class _WorkerReads:
    """A worker's reads of stored entries (content hash, entry digest), through its own database handle
    opened on first use (never a connection inherited through fork: two processes must not share one)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._read: StoredReader | None = None

    def __call__(self, source_id: int, identities: Sequence[str]) -> Mapping[str, StoredEntry]:
        if self._read is None:
            from pipeline.storage.db import Database

            db = Database(self.url)
            # Closed when the worker exits (multiprocessing runs these finalizers, not atexit handlers), so
            # PostgreSQL sees a goodbye rather than a dropped connection.
            multiprocessing.util.Finalize(self, db.dispose, exitpriority=10)
            self._read = stored_entries_reader(db)
        return self._read(source_id, identities)


def process_in_worker(fetch: FetchResult) -> FeedUpdate:
    """The task a worker runs: one fetched feed, processed with the worker's config and themes."""
    return process_feed(fetch, _W["cfg"], _W["matcher"].get(), _W["stored"])


def worker_config() -> tuple[Config, Matcher]:
    """The config and compiled themes of this worker process (for tasks other than a feed's)."""
    return _W["cfg"], _W["matcher"].get()


def _noop() -> int:
    return os.getpid()


def _init_worker(cfg: Config, db_url: str) -> None:
    from pipeline.config import build_matcher

    _W["cfg"], _W["matcher"], _W["stored"] = cfg, LazyMatcher(partial(build_matcher, cfg)), _WorkerReads(db_url)


def fork_pool(cfg: Config, matcher: LazyMatcher, workers: int, db_url: str) -> ProcessPoolExecutor:
    """Workers forked now from this (single-threaded) process; they inherit ``cfg`` and ``matcher``.

    A matcher not compiled yet is compiled by each worker when its first body arrives. The poll and the
    backfill (``pipeline import``) both run their CPU work here.
    """
    _W["cfg"], _W["matcher"], _W["stored"] = cfg, matcher, _WorkerReads(db_url)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    # With the fork start method every worker is forked at the first submit: make it happen here, before the
    # cycle starts its fetch thread.
    pool.submit(_noop)
    return pool


class ServicePool:
    """Worker processes for a long-running service: started on first use through a fork server, kept
    across cycles (no fork and no theme compilation per cycle), replaced when one has died."""

    def __init__(self, cfg: Config, db_url: str, workers: int | None = None) -> None:
        self.cfg, self.db_url = cfg, db_url
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor:
        """A working pool: the current one, or a new one if there is none or a worker died."""
        if self._pool is not None:
            try:
                self._pool.submit(_noop)
                return self._pool
            except (BrokenProcessPool, RuntimeError):  # a worker was killed, or the pool was shut down
                log.warning("poll worker pool broken; starting a new one")
                self._pool.shutdown(wait=False, cancel_futures=True)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                         initargs=(self.cfg, self.db_url))
        return self._pool

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
