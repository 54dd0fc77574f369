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
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TYPE_CHECKING, Any

from pipeline.update import FeedUpdate, process_feed

if TYPE_CHECKING:
    from pipeline.config import Config
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


def process_in_worker(fetch: FetchResult) -> FeedUpdate:
    """The task a worker runs: one fetched feed, processed with the worker's config and themes."""
    return process_feed(fetch, _W["cfg"], _W["matcher"].get())


def _noop() -> int:
    return os.getpid()


def _init_worker(cfg: Config) -> None:
    from pipeline.config import build_matcher

    _W["cfg"], _W["matcher"] = cfg, LazyMatcher(partial(build_matcher, cfg))


def fork_pool(cfg: Config, matcher: LazyMatcher, workers: int) -> ProcessPoolExecutor:
    """Workers forked now from this (single-threaded) process; they inherit ``cfg`` and ``matcher``.

    A matcher not compiled yet is compiled by each worker when its first body arrives.
    """
    _W["cfg"], _W["matcher"] = cfg, matcher
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    # With the fork start method every worker is forked at the first submit: make it happen here, before the
    # cycle starts its fetch thread.
    pool.submit(_noop)
    return pool


class ServicePool:
    """Worker processes for a long-running service: started on first use through a fork server, kept
    across cycles (no fork and no theme compilation per cycle), replaced when one has died."""

    def __init__(self, cfg: Config, workers: int | None = None) -> None:
        self.cfg = cfg
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
                                         initargs=(self.cfg,))
        return self._pool

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
