"""Per-feed orchestration: fetch result → parse → normalize → tag → (storage).

``process_feed`` is the CPU-bound part and runs in worker processes when many feeds
are polled; its one database access is an optional read of what is already stored.
``store_feeds`` writes several feeds' articles and outcomes in one transaction; the
poll cycle retries a failed batch feed by feed, so one bad feed never loses what
another stored.
"""

from __future__ import annotations

import hashlib
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
    StoredEntry,
    StoreResult,
    band_ints,
    fill_entry_digests,
    store_articles,
    stored_entries,
)
from pipeline.storage.signals import record_polls
from pipeline.storage.sources import FeedOutcome, error_count, load_sources, record_outcome
from pipeline.timewindows import window_start
from pipeline.types import ArticleData, FetchResult, ParsedFeed

log = logging.getLogger(__name__)

_REASON_CHARS = 200
ITEM_DIGEST_BYTES = 16

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline.config import Config
    from pipeline.normalize.settings import NormalizeSettings
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
    digests: tuple[tuple[str, str], ...] = ()  # (identity, entry digest) for stored rows that have none yet
    item_digests: bytes | None = None  # the document's raw-item digests, for the next poll (parse.items)


StoredReader = Callable[[int, Sequence[str]], Mapping[str, StoredEntry]]
"""``(source_id, identities) -> {identity: (content hash, entry digest)}`` of what is already stored
(storage's ``stored_entries`` behind a session)."""


def process_feed(fetch: FetchResult, cfg: Config, matcher: Matcher, stored: StoredReader | None = None
                 ) -> FeedUpdate:
    """Parse, normalize and tag one fetched body (CPU work; ``stored`` is its read, optional).

    A changed feed mostly repeats entries already stored. With ``stored``, items whose raw bytes were in
    the document processed last time (``fetch.known_items``) are not parsed at all: feedparser reads the
    document with only the other items (see :mod:`pipeline.parse.items`). Then one read tells what is stored
    under each entry whose identity is known before normalizing (from its guid or link): an entry whose
    raw fields digest to the stored digest is unchanged and is not even normalized. The others are
    normalized without their MinHash signature, and one stored with the same identity and content hash is
    unchanged too (storage would leave it alone; its digest is recorded if its row had none). Only new and
    changed entries get a signature and theme tags. Without ``stored`` (or if reading fails) every entry
    is processed in full, with the same result.
    """
    if fetch.body is None:
        return FeedUpdate(fetch=fetch)
    # Imported on first use: feedparser, ftfy and selectolax cost a poll of unchanged feeds ~0.1 s to load.
    from pipeline.normalize.article import NO_CONTENT, add_signature, entry_digest, known_identity, normalize_entry

    layout = _ItemLayout.of(fetch, cfg.normalize) if stored is not None and fetch.known_items is not None else None
    try:
        parsed, items = _parse_new_items(fetch, layout)
    except ParseError as exc:
        return FeedUpdate(fetch=fetch, error=str(exc))
    seen = len(layout.spans) - len(parsed.entries) if items is not None and layout is not None else 0
    settings = cfg.normalize
    pending = [(n, entry, entry_digest(entry, fetch.url, settings)) for n, entry in enumerate(parsed.entries)]
    lost: set[int] = set()  # entries that could not be stored: their items are read again next time
    known: dict[str, StoredEntry] = {}
    asked: set[str] = set()
    unchanged = seen
    if stored is not None:
        identities = [known_identity(entry, fetch.url, settings) for _, entry, _ in pending]
        asked = {i for i in identities if i is not None}
        known = _read_stored(stored, fetch.source_id, list(asked))
        kept = []
        for (n, entry, digest), identity in zip(pending, identities, strict=True):
            row = known.get(identity) if identity is not None else None
            if row is not None and row.entry_digest == digest:
                unchanged += 1
            else:
                kept.append((n, entry, digest))
        pending = kept
    arts: list[ArticleData] = []
    skips: Counter[str] = Counter()
    for n, entry, digest in pending:
        try:
            art = normalize_entry(entry, source_id=fetch.source_id, feed_url=fetch.url, fetched_at=fetch.fetched_at,
                                  settings=settings, with_signature=stored is None, digest=digest)
        except PipelineError as exc:
            skips[str(exc)[:_REASON_CHARS]] += 1
            lost.add(n)
            continue
        if art is None:
            skips[NO_CONTENT] += 1
            lost.add(n)
        else:
            arts.append(art)
    out: list[ArticleToStore] = []
    fills: list[tuple[str, str]] = []
    if stored is not None:
        # Identities only the content gives (entries with neither guid nor link): one more read, if any.
        more = [a.identity for a in arts if a.identity not in asked]
        if more:
            known.update(_read_stored(stored, fetch.source_id, more))
    for art in arts:
        if stored is not None:
            row = known.get(art.identity)
            if row is not None and row.content_hash == art.content_hash:
                unchanged += 1
                if row.entry_digest is None and art.entry_digest is not None:
                    fills.append((art.identity, art.entry_digest))
                continue
            art = add_signature(art, settings)
        out.append(tagged(art, cfg, matcher))
    return FeedUpdate(fetch=fetch, articles=tuple(out), title=parsed.title,
                      warning=_with_skips(parsed.warning, skips, len(parsed.entries) + seen),
                      skipped=sum(skips.values()), unchanged=unchanged, digests=tuple(fills),
                      item_digests=_items_to_remember(layout, items, lost))


def _items_to_remember(layout: _ItemLayout | None, items: list[int] | None, lost: set[int]) -> bytes | None:
    """The digests of the document's items, less those of entries that could not be stored (``lost``,
    by entry index; ``items`` maps entry index to item index). None when entries and items do not pair up."""
    if layout is None or items is None:
        return None
    forget = {items[n] for n in lost}
    return b"".join(d for i, d in enumerate(layout.digests) if i not in forget)


@dataclass(frozen=True, slots=True)
class _ItemLayout:
    """Where a document's items are, and a digest of each item's raw bytes."""

    spans: list[tuple[int, int]]
    digests: list[bytes]

    @classmethod
    def of(cls, fetch: FetchResult, settings: NormalizeSettings) -> _ItemLayout | None:
        """The layout of ``fetch.body``; each digest is keyed by what else shapes the item's article (the
        parser's and normalization's versions and settings, the document's URL), so that a change to any of
        them reads every item again."""
        from pipeline.normalize.article import normalization_key
        from pipeline.parse.feed import PARSER_VERSION
        from pipeline.parse.items import item_spans

        assert fetch.body is not None
        spans = item_spans(fetch.body)
        if spans is None:
            return None
        key = hashlib.blake2b(b"%s\0%s\0%s" % (PARSER_VERSION.encode(), normalization_key(settings),
                                                 fetch.url.encode("utf-8", "surrogatepass")), digest_size=16).digest()
        return cls(spans, [hashlib.blake2b(fetch.body[a:b], digest_size=ITEM_DIGEST_BYTES, key=key).digest()
                           for a, b in spans])


def _parse_new_items(fetch: FetchResult, layout: _ItemLayout | None) -> tuple[ParsedFeed, list[int] | None]:
    """The parsed document with only the items not seen last time, and each entry's item index (None
    when entries and items do not pair up one to one).

    The whole document is parsed when there is no layout or nothing to leave out, and also when the
    reduced one does not give exactly one entry an item (then nothing is assumed about it).
    """
    from pipeline.parse.feed import parse_feed
    from pipeline.parse.items import without_items

    assert fetch.body is not None
    if layout is not None and fetch.known_items:
        old = {fetch.known_items[i:i + ITEM_DIGEST_BYTES] for i in range(0, len(fetch.known_items), ITEM_DIGEST_BYTES)}
        keep = [i for i, d in enumerate(layout.digests) if d not in old]
        if len(keep) < len(layout.spans):
            reduced = without_items(fetch.body, layout.spans, keep)
            try:
                parsed = parse_feed(reduced, fetch.headers, fetch.url)
            except ParseError:
                parsed = None
            if parsed is not None and len(parsed.entries) == len(keep) and parsed.warning is None:
                return parsed, keep
    parsed = parse_feed(fetch.body, fetch.headers, fetch.url)
    paired = layout is not None and len(parsed.entries) == len(layout.spans)
    return parsed, list(range(len(parsed.entries))) if paired else None


def _with_skips(warning: str | None, skips: Counter[str], entries: int) -> str | None:
    """The feed's warning, with a line saying how many entries were not stored and why (None if no cause)."""
    if not skips:
        return warning
    reasons = "; ".join(f"{reason} ({n})" for reason, n in skips.most_common())
    line = f"{sum(skips.values())} of {entries} entries not stored: {reasons}"
    return f"{warning}\n{line}" if warning else line


def stored_entries_reader(db: Database) -> StoredReader:
    """``stored`` for :func:`process_feed`, reading through ``db`` (one short read transaction a call)."""

    def read(source_id: int, identities: Sequence[str]) -> Mapping[str, StoredEntry]:
        with db.session() as session:
            return stored_entries(session, source_id, identities)

    return read


def _read_stored(stored: StoredReader, source_id: int, identities: Sequence[str]) -> dict[str, StoredEntry]:
    if not identities:
        return {}
    try:
        return dict(stored(source_id, identities))
    except Exception as exc:  # an optimisation only: a failed read means processing every entry in full
        log.warning("reading stored entries of source %d failed (%s); processing every entry", source_id, exc)
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
        for u, _ in updates:
            if u.digests and not _failed(u):
                fill_entry_digests(session, u.fetch.source_id, u.digests)
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
        item_digests=update.item_digests,
        owner=owner,
    )
    record_outcome(session, outcome)
    return outcome
