"""Per-feed orchestration: fetch result → parse → normalize → tag → (storage).

``process_feed`` is the CPU-bound part and runs in worker processes when many feeds
are polled; its one database access is an optional read of what is already stored.
``store_feeds`` writes several feeds' articles and outcomes in one transaction; the
poll cycle retries a failed batch feed by feed, so one bad feed never loses what
another stored.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.errors import ParseError, PipelineError
from pipeline.fetch import next_poll_at
from pipeline.normalize.near_dup import band_keys, is_near_duplicate
from pipeline.storage.articles import (
    ArticleToStore,
    StoreResult,
    band_ints,
    store_articles,
    stored_content_hashes,
)
from pipeline.storage.signals import record_polls
from pipeline.storage.sources import FeedOutcome, error_count, load_sources, record_outcome
from pipeline.timewindows import window_start
from pipeline.types import ArticleData, FetchResult

log = logging.getLogger(__name__)

_REASON_CHARS = 200

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline.config import Config
    from pipeline.storage.db import Database
    from pipeline.themes import Matcher


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What processing one fetched feed produced, ready for storage (goes from a worker to the writer)."""

    fetch: FetchResult
    articles: tuple[ArticleToStore, ...] = ()
    title: str | None = None
    warning: str | None = None
    error: str | None = None  # a parse error: the feed's entries could not be read
    skipped: int = 0  # entries that could not become articles (the reasons are in ``warning``)
    unchanged: int = 0  # entries already stored as they are (not sent to storage)


StoredHashes = Callable[[int, Sequence[str]], Mapping[str, str]]
"""``(source_id, identities) -> {identity: content hash}`` of what is already stored (storage's
``stored_content_hashes`` behind a session)."""


def process_feed(fetch: FetchResult, cfg: Config, matcher: Matcher, stored: StoredHashes | None = None
                 ) -> FeedUpdate:
    """Parse, normalize and tag one fetched body (CPU work; ``stored`` is its one read, optional).

    A changed feed mostly repeats entries already stored. With ``stored``, entries are first normalized
    without their MinHash signature, the feed's stored content hashes are read in one query, and only
    new or changed entries get a signature and theme tags: an entry stored with the same identity and
    content hash would be left alone by storage anyway. Without ``stored`` (or if reading fails) every
    entry is processed in full, with the same result.
    """
    if fetch.body is None:
        return FeedUpdate(fetch=fetch)
    # Imported on first use: feedparser, ftfy and selectolax cost a poll of unchanged feeds ~0.1 s to load.
    from pipeline.normalize.article import NO_CONTENT, add_signature, normalize_entry
    from pipeline.parse.feed import parse_feed

    try:
        parsed = parse_feed(fetch.body, fetch.headers, fetch.url)
    except ParseError as exc:
        return FeedUpdate(fetch=fetch, error=str(exc))
    arts: list[ArticleData] = []
    skips: Counter[str] = Counter()
    for entry in parsed.entries:
        try:
            art = normalize_entry(entry, source_id=fetch.source_id, feed_url=fetch.url, fetched_at=fetch.fetched_at,
                                  settings=cfg.normalize, with_signature=stored is None)
        except PipelineError as exc:
            skips[str(exc)[:_REASON_CHARS]] += 1
            continue
        if art is None:
            skips[NO_CONTENT] += 1
        else:
            arts.append(art)
    known = _stored_hashes(stored, fetch.source_id, [a.identity for a in arts]) if stored is not None else None
    out: list[ArticleToStore] = []
    unchanged = 0
    for art in arts:
        if known is not None:
            if known.get(art.identity) == art.content_hash:
                unchanged += 1
                continue
            art = add_signature(art, cfg.normalize)
        out.append(tagged(art, cfg, matcher))
    return FeedUpdate(fetch=fetch, articles=tuple(out), title=parsed.title,
                      warning=_with_skips(parsed.warning, skips, len(parsed.entries)), skipped=sum(skips.values()),
                      unchanged=unchanged)


def _with_skips(warning: str | None, skips: Counter[str], entries: int) -> str | None:
    """The feed's warning, with a line saying how many entries were not stored and why (None if no cause)."""
    if not skips:
        return warning
    reasons = "; ".join(f"{reason} ({n})" for reason, n in skips.most_common())
    line = f"{sum(skips.values())} of {entries} entries not stored: {reasons}"
    return f"{warning}\n{line}" if warning else line


def stored_hashes_reader(db: Database) -> StoredHashes:
    """``stored`` for :func:`process_feed`, reading through ``db`` (one short read transaction a feed)."""

    def read(source_id: int, identities: Sequence[str]) -> Mapping[str, str]:
        with db.session() as session:
            return stored_content_hashes(session, source_id, identities)

    return read


def _stored_hashes(stored: StoredHashes, source_id: int, identities: Sequence[str]) -> Mapping[str, str]:
    try:
        return stored(source_id, identities)
    except Exception as exc:  # an optimisation only: a failed read means processing every entry in full
        log.warning("reading stored hashes of source %d failed (%s); processing every entry", source_id, exc)
        return {}


def tagged(art: ArticleData, cfg: Config, matcher: Matcher) -> ArticleToStore:
    """An article with its theme hits and LSH band keys, ready for storage (polled or imported alike)."""
    hits = tuple(matcher.match(art.text, art.title))
    # Band keys become storage's integers here, in the worker process, not in the single writer.
    keys = tuple(band_ints(band_keys(art.shingle_signature, bands=cfg.normalize.bands)))
    return ArticleToStore(data=art, hits=hits, band_keys=keys)


def store_batch(session: Session, items: Sequence[ArticleToStore], cfg: Config, *, now: datetime) -> StoreResult:
    """Store articles with the configured windows and near-duplicate threshold (polled or imported alike)."""
    threshold = cfg.normalize.near_dup_threshold

    def similar(a: Sequence[int], b: Sequence[int]) -> bool:
        return is_near_duplicate(tuple(a), tuple(b), threshold)

    return store_articles(session, items, now=now, window_of=lambda t: window_start(t, cfg.signals.window_hours),
                          similar=similar)


def store_feeds(db: Database, updates: Sequence[tuple[FeedUpdate, timedelta | None]], cfg: Config, *,
                now: datetime, rng: random.Random | None = None, owner: str | None = None) -> list[FeedOutcome]:
    """Store several feeds' articles and outcomes in one transaction.

    The articles of all of them go through one :func:`store_batch` (a handful of queries for the lot
    instead of a handful per feed); if anything fails, nothing of the transaction is kept and the caller
    retries feed by feed, so one bad feed never loses another's rows.
    """
    rng = rng or random.Random()
    with db.session() as session:
        _loaded = load_sources(session, [u.fetch.source_id for u, _ in updates])  # held: the session keeps them weakly
        articles = [a for u, _ in updates if not _failed(u) for a in u.articles]
        stored = store_batch(session, articles, cfg, now=now) if articles else StoreResult()
        outcomes = [_store(session, u, cfg, now=now, rng=rng, interval=interval or cfg.fetch.poll_interval,
                           owner=owner, stored=stored.inserted_by_source.get(u.fetch.source_id, 0))
                    for u, interval in updates]
        record_polls(session, [(u.fetch.source_id, window_start(u.fetch.fetched_at, cfg.signals.window_hours),
                                not _failed(u)) for u, _ in updates])
    return outcomes


def _failed(update: FeedUpdate) -> bool:
    return update.fetch.error is not None or update.error is not None


def _store(session: Session, update: FeedUpdate, cfg: Config, *, now: datetime, rng: random.Random,
           interval: timedelta, owner: str | None, stored: int) -> FeedOutcome:
    """Record one feed's poll outcome (its articles are already stored)."""
    f = update.fetch
    failed = _failed(update)
    errors = 0 if not failed else error_count(session, f.source_id) + 1
    outcome = FeedOutcome(
        source_id=f.source_id,
        polled_at=f.fetched_at,
        next_poll_at=next_poll_at(now=now, interval=interval, error_count=errors,
                                  retry_after=f.retry_after, ok=not failed, settings=cfg.fetch, rng=rng),
        ok=not failed,
        not_modified=f.not_modified,
        http_status=f.status,
        error=f.error or update.error,
        error_kind=f.error_kind or (("storage" if update.error.startswith("storing") else "parse")
                                    if update.error else None),
        warning=update.warning,
        etag=f.etag,
        last_modified=f.last_modified,
        body_hash=f.body_hash,
        title=update.title,
        new_url=getattr(f, "permanent_redirect", None),
        stored=stored,
        skipped=update.skipped,
        owner=owner,
    )
    record_outcome(session, outcome)
    return outcome
