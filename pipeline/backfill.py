"""Backfill: import articles from JSON lines, deduplicated and tagged like polled ones.

Reading, normalizing and tagging a line is CPU work that runs in worker processes for a large import
(chunks of lines, results taken back in input order, so the outcome is the same as one process's);
storing runs here, in batches, as a poll's does.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING

from pipeline.errors import InputError
from pipeline.normalize import normalize_import
from pipeline.storage.articles import ArticleToStore
from pipeline.storage.sources import ensure_import_source
from pipeline.update import store_batch, tagged

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.storage.db import Database
    from pipeline.themes import Matcher

BATCH = 500  # articles stored per transaction
CHUNK = 200  # lines per worker task
POOL_MIN_LINES = 2000  # a smaller import runs in this process: starting workers would cost more

# A line's outcome: (line number, source name, the article) or (line number, None, what is wrong).
_Prepared = tuple[int, str | None, ArticleToStore | str]


@dataclass(slots=True)
class ImportSummary:
    lines: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    clustered: int = 0
    errors: list[str] = field(default_factory=list)  # "FILE:LINE: what is wrong"

    def to_dict(self) -> dict[str, object]:
        return {"lines": self.lines, "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "clustered": self.clustered, "invalid": len(self.errors),
                "errors": self.errors[:100]}


def _prepare(lineno: int, line: str, cfg: Config, matcher: Matcher, now: datetime) -> _Prepared:
    """One line read, checked, normalized and tagged (its source id is filled in by the writer)."""
    try:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object")
        name = obj.get("source")
        if not isinstance(name, str) or not name.strip():
            raise InputError("'source' must be a non-empty string naming the source")
        art = normalize_import(obj, source_id=0, fetched_at=now, settings=cfg.normalize)
    except InputError as exc:
        return lineno, None, str(exc)
    return lineno, name.strip(), tagged(art, cfg, matcher)


def _prepare_chunk(chunk: list[tuple[int, str]], now: datetime) -> list[_Prepared]:
    """A worker's task: a chunk of lines, with the config and themes it inherited (see ``fork_pool``)."""
    from pipeline.service.workers import worker_config

    cfg, matcher = worker_config()
    return [_prepare(lineno, line, cfg, matcher, now) for lineno, line in chunk]


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    return ((lineno, line) for lineno, line in enumerate(lines, 1) if line.strip())


def import_lines(cfg: Config, db: Database, matcher: Matcher, lines: Iterable[str], *, origin: str,
                 now: datetime | None = None, progress: Callable[[int], None] | None = None,
                 workers: int = 1) -> ImportSummary:
    """Import JSON lines; bad lines are reported with their line number and skipped, good ones stored.

    With ``workers`` > 1 and more than ``POOL_MIN_LINES`` lines, lines are prepared in that many forked
    processes (the caller must be single-threaded, as ``pipeline import`` is); the result is the same.
    """
    now = now or datetime.now(UTC)
    summary = ImportSummary()
    source_ids: dict[str, int] = {}
    batch: list[ArticleToStore] = []

    def flush() -> None:
        if not batch:
            return
        with db.session() as s:
            r = store_batch(s, batch, cfg, now=now)
        summary.inserted += r.inserted
        summary.updated += r.updated
        summary.unchanged += r.unchanged
        summary.clustered += r.clustered
        if progress:
            progress(len(batch))
        batch.clear()

    def take(prepared: _Prepared) -> None:
        lineno, name, outcome = prepared
        summary.lines += 1
        if name is None or isinstance(outcome, str):
            summary.errors.append(f"{origin}:{lineno}: {outcome}")
            return
        if name not in source_ids:
            with db.session() as s:
                source_ids[name] = ensure_import_source(s, name, now)
        batch.append(replace(outcome, data=replace(outcome.data, source_id=source_ids[name])))
        if len(batch) >= BATCH:
            flush()

    numbered = _numbered(lines)
    head = list(islice(numbered, POOL_MIN_LINES))
    if workers > 1 and len(head) == POOL_MIN_LINES:
        _in_workers(head, numbered, cfg, db, matcher, now, workers, take)
    else:
        for lineno, line in head:
            take(_prepare(lineno, line, cfg, matcher, now))
        for lineno, line in numbered:  # empty unless workers == 1
            take(_prepare(lineno, line, cfg, matcher, now))
    flush()
    return summary


def _in_workers(head: list[tuple[int, str]], rest: Iterator[tuple[int, str]], cfg: Config, db: Database,
                matcher: Matcher, now: datetime, workers: int, take: Callable[[_Prepared], None]) -> None:
    """Prepare every line in forked workers (the poll's), a chunk a task, handing outcomes to ``take`` in
    input order. At most two tasks a worker are in flight, so a file of any size is read as it is consumed.
    """
    from pipeline.service.workers import LazyMatcher, fork_pool

    pending: deque[Future[list[_Prepared]]] = deque()
    chunks = _chunks(head, rest)
    with fork_pool(cfg, LazyMatcher(matcher), workers, db.url) as pool:
        for chunk in chunks:
            pending.append(pool.submit(_prepare_chunk, chunk, now))
            while len(pending) >= 2 * workers:
                for prepared in pending.popleft().result():
                    take(prepared)
        while pending:
            for prepared in pending.popleft().result():
                take(prepared)


def _chunks(head: list[tuple[int, str]], rest: Iterator[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    for start in range(0, len(head), CHUNK):
        yield head[start:start + CHUNK]
    while chunk := list(islice(rest, CHUNK)):
        yield chunk
