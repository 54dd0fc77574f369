"""Storage for the ``articles`` aggregate: exact and near-duplicate dedup, theme hits, windows.

One call stores one batch (one feed's entries, or a chunk of an import) in the
caller's transaction.  The rules:

- same source and identity: the row is updated if its content changed, else left alone;
- same source and canonical URL under a new identity (a feed that changed its guids): updated;
- otherwise a new row, joined to a story cluster when another article has the same
  content hash or canonical URL, or a MinHash signature close enough (LSH band keys
  find the candidates, the signature comparison decides);
- every window an article lands in (or leaves) is marked dirty for the counter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pipeline.normalize.near_dup import signature_from_bytes, signature_to_bytes
from pipeline.storage.db import storable
from pipeline.storage.models import Article, ArticleBand, ArticleTheme, DirtyWindow
from pipeline.types import ArticleData, ThemeHit

T = TypeVar("T")
_CHUNK = 500  # keep IN (...) lists well under SQLite's variable limit
# Core tables for the bulk inserts: Core executemany skips the ORM's per-row bookkeeping, which cost
# more than the inserts themselves (32 band keys per article).
_ARTICLES: Table = Article.__table__  # type: ignore[assignment]
_BANDS: Table = ArticleBand.__table__  # type: ignore[assignment]
_THEMES: Table = ArticleTheme.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class ArticleToStore:
    """An article with what storage needs beside it (from update.py / import)."""

    data: ArticleData
    hits: tuple[ThemeHit, ...] = ()
    band_keys: tuple[str, ...] = ()


@dataclass(slots=True)
class StoreResult:
    """Counts of one batch."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    clustered: int = 0  # new rows joined to an existing story cluster
    article_ids: list[int] = field(default_factory=list)


def _storable(item: ArticleToStore) -> ArticleToStore:
    d = item.data
    identity, url = storable(d.identity) or "", storable(d.url)
    title, text = storable(d.title) or "", storable(d.text) or ""
    if (identity, url, title, text) == (d.identity, d.url, d.title, d.text):
        return item
    return replace(item, data=replace(d, identity=identity, url=url, title=title, text=text))


def band_ints(keys: Sequence[str]) -> list[int]:
    """LSH band keys as signed 64-bit integers: an integer index is smaller and faster than a text one."""
    return [int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big", signed=True) for k in keys]


def pack_signature(sig: Sequence[int]) -> bytes | None:
    """The stored form of a MinHash signature (None for a text too short to have one)."""
    return signature_to_bytes(tuple(sig)) if sig else None


def unpack_signature(blob: bytes | None) -> tuple[int, ...]:
    return signature_from_bytes(blob) if blob else ()


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def store_articles(
    session: Session,
    batch: Sequence[ArticleToStore],
    *,
    now: datetime,
    window_of: Callable[[datetime], datetime],
    similar: Callable[[Sequence[int], Sequence[int]], bool],
) -> StoreResult:
    """Store a batch; see the module docstring for the dedup rules."""
    result = StoreResult()
    # Last occurrence wins when a feed repeats an identity.
    by_key: dict[tuple[int, str], ArticleToStore] = {}
    for item in batch:
        item = _storable(item)
        by_key[(item.data.source_id, item.data.identity)] = item
    items = list(by_key.values())
    if not items:
        return result
    dirty: set[datetime] = set()

    existing: dict[tuple[int, str], Article] = {}
    by_url: dict[tuple[int, str], Article] = {}
    for source_id in {i.data.source_id for i in items}:
        idents = [i.data.identity for i in items if i.data.source_id == source_id]
        for chunk in _chunks(idents):
            for found in session.scalars(select(Article).where(Article.source_id == source_id,
                                                               Article.identity.in_(chunk))):
                existing[(source_id, found.identity)] = found
        urls = [i.data.url for i in items if i.data.source_id == source_id and i.data.url
                and (source_id, i.data.identity) not in existing]
        for chunk in _chunks(urls):
            for found in session.scalars(select(Article).where(Article.source_id == source_id,
                                                               Article.url.in_(chunk))):
                by_url[(source_id, found.url or "")] = found

    new_items: list[ArticleToStore] = []
    matched: set[int] = set()
    for item in items:
        d = item.data
        row: Article | None = existing.get((d.source_id, d.identity))
        if row is None and d.url:
            # Same link under a new guid: the feed changed its guids, so the row is updated, unless the
            # row's own guid is still in this batch or the row was already matched (distinct entries that
            # share a link, such as a live blog, must not overwrite each other).
            candidate = by_url.get((d.source_id, d.url))
            if (candidate is not None and candidate.id not in matched
                    and (d.source_id, candidate.identity) not in by_key):
                row = candidate
        if row is not None:
            matched.add(row.id)
        if row is None:
            new_items.append(item)
            continue
        if row.content_hash == d.content_hash and row.identity == d.identity:
            result.unchanged += 1
            result.article_ids.append(row.id)
            continue
        dirty.add(window_of(row.published_at))
        row.identity, row.url, row.title, row.text = d.identity, d.url, d.title, d.text
        row.published_at, row.date_estimated, row.updated_at = d.published_at, d.date_estimated, now
        row.content_hash, row.signature = d.content_hash, pack_signature(d.shingle_signature)
        dirty.add(window_of(d.published_at))
        session.execute(delete(ArticleTheme).where(ArticleTheme.article_id == row.id))
        session.execute(delete(ArticleBand).where(ArticleBand.article_id == row.id))
        _insert_hits(session, row.id, item.hits)
        _insert_bands(session, row.id, item.band_keys)
        result.updated += 1
        result.article_ids.append(row.id)

    if new_items:
        clusters = _find_clusters(session, new_items, similar)
        rows = [
            {
                "source_id": it.data.source_id, "identity": it.data.identity, "url": it.data.url,
                "title": it.data.title, "text": it.data.text, "published_at": it.data.published_at,
                "fetched_at": it.data.fetched_at, "updated_at": now, "date_estimated": it.data.date_estimated,
                "content_hash": it.data.content_hash,
                "cluster_id": _existing_cluster(clusters[i]),
                "signature": pack_signature(it.data.shingle_signature),
            }
            for i, it in enumerate(new_items)
        ]
        ids = list(session.scalars(_ARTICLES.insert().returning(_ARTICLES.c.id, sort_by_parameter_order=True), rows))
        # A new story keeps cluster_id NULL (its own id is its cluster: readers use coalesce(cluster_id, id)),
        # so only the rare copy of an earlier item in the same batch needs an UPDATE after the insert.
        final: list[int] = []
        for i, aid in enumerate(ids):
            c = clusters[i]
            if c is None:
                final.append(aid)
                continue
            result.clustered += 1
            if c < 0:
                final.append(final[-c - 1])
                session.execute(update(Article).where(Article.id == aid).values(cluster_id=final[-1]))
            else:
                final.append(c)
        bands = [(k, aid) for aid, it in zip(ids, new_items, strict=True)
                 for k in dict.fromkeys(band_ints(it.band_keys))]
        _insert_band_rows(session, bands)
        hits = [_hit_row(aid, h) for aid, it in zip(ids, new_items, strict=True) for h in it.hits]
        if hits:
            session.execute(_THEMES.insert(), hits)
        for it in new_items:
            dirty.add(window_of(it.data.published_at))
        result.inserted += len(ids)
        result.article_ids.extend(ids)

    mark_dirty(session, dirty, now)
    return result


def _existing_cluster(found: int | None) -> int | None:
    """A cluster id found in the database, or None (own story, or a batch-internal mark fixed later)."""
    return found if found is not None and found >= 0 else None


def _find_clusters(
    session: Session, items: Sequence[ArticleToStore], similar: Callable[[Sequence[int], Sequence[int]], bool]
) -> list[int | None]:
    """For each new item: an existing cluster id, -(k+1) for the cluster of batch item k, or None."""
    out: list[int | None] = [None] * len(items)
    hashes = list({it.data.content_hash for it in items})
    by_hash: dict[str, int] = {}
    for chunk in _chunks(hashes):
        for h, cid in session.execute(select(Article.content_hash, func.coalesce(Article.cluster_id, Article.id))
                                      .where(Article.content_hash.in_(chunk))):
            if cid is not None:
                by_hash.setdefault(h, cid)
    urls = list({it.data.url for it in items if it.data.url})
    by_url: dict[str, int] = {}
    for chunk in _chunks(urls):
        for u, cid in session.execute(select(Article.url, func.coalesce(Article.cluster_id, Article.id))
                                      .where(Article.url.in_(chunk))):
            if cid is not None and u:
                by_url.setdefault(u, cid)
    item_keys = [band_ints(it.band_keys) for it in items]
    keys = list({k for ks in item_keys for k in ks})
    cand: dict[int, list[int]] = {}
    for key_chunk in _chunks(keys):
        for band, aid in session.execute(select(ArticleBand.band_key, ArticleBand.article_id)
                                         .where(ArticleBand.band_key.in_(key_chunk))):
            cand.setdefault(band, []).append(aid)
    cand_ids = list({a for ids in cand.values() for a in ids})
    sigs: dict[int, tuple[tuple[int, ...], int]] = {}
    for i in range(0, len(cand_ids), _CHUNK):
        for art_id, blob, cluster in session.execute(
            select(Article.id, Article.signature, func.coalesce(Article.cluster_id, Article.id))
            .where(Article.id.in_(cand_ids[i : i + _CHUNK]))
        ):
            sigs[art_id] = (unpack_signature(blob), int(cluster))

    seen_hash: dict[str, int] = {}
    seen_url: dict[str, int] = {}
    seen_band: dict[int, list[int]] = {}
    for k, it in enumerate(items):
        d = it.data
        hit: int | None = by_hash.get(d.content_hash) or (by_url.get(d.url) if d.url else None)
        if hit is None:
            for key in item_keys[k]:
                for aid in cand.get(key, ()):
                    sig, cid = sigs.get(aid, ((), aid))
                    if sig and similar(sig, d.shingle_signature):
                        hit = cid
                        break
                if hit is not None:
                    break
        if hit is None:
            j = seen_hash.get(d.content_hash)
            if j is None and d.url:
                j = seen_url.get(d.url)
            if j is None:
                for key in item_keys[k]:
                    for jj in seen_band.get(key, ()):
                        if similar(items[jj].data.shingle_signature, d.shingle_signature):
                            j = jj
                            break
                    if j is not None:
                        break
            if j is not None:
                root = out[j]
                hit = root if root is not None else -(j + 1)
        out[k] = hit
        seen_hash.setdefault(d.content_hash, k)
        if d.url:
            seen_url.setdefault(d.url, k)
        for key in item_keys[k]:
            seen_band.setdefault(key, []).append(k)
    return out


def _hit_row(article_id: int, hit: ThemeHit) -> dict[str, object]:
    return {
        "article_id": article_id, "theme": hit.theme, "score": hit.score, "version": hit.version,
        "evidence": [{"start": e.start, "end": e.end, "term": e.term, "snippet": e.snippet} for e in hit.evidence],
    }


def _insert_hits(session: Session, article_id: int, hits: Sequence[ThemeHit]) -> None:
    if hits:
        session.execute(_THEMES.insert(), [_hit_row(article_id, h) for h in hits])


def _insert_bands(session: Session, article_id: int, keys: Sequence[str]) -> None:
    _insert_band_rows(session, [(k, article_id) for k in dict.fromkeys(band_ints(keys))])


def _insert_band_rows(session: Session, rows: list[tuple[int, int]]) -> None:
    """The driver's executemany with plain tuples: 32 rows an article, where building SQLAlchemy's
    per-row parameter dicts cost as much as the inserts."""
    if not rows:
        return
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    session.connection().exec_driver_sql(
        f"INSERT INTO {_BANDS.name} (band_key, article_id) VALUES ({mark}, {mark})", rows)


def mark_dirty(session: Session, windows: Iterable[datetime], now: datetime) -> None:
    """Record that these windows' counts must be recomputed (idempotent)."""
    wanted = set(windows)
    if not wanted:
        return
    # An upsert: two workers marking one window must not abort each other's transaction, and a mark made
    # while a recount runs bumps the generation, so the recount does not clear it (see refresh_window).
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert(DirtyWindow) if dialect == "postgresql" else sqlite.insert(DirtyWindow)
    stmt = ins.on_conflict_do_update(index_elements=["window_start"],
                                     set_={"generation": DirtyWindow.generation + 1, "marked_at": now})
    session.execute(stmt, [{"window_start": w, "marked_at": now, "generation": 0} for w in sorted(wanted)])


def replace_hits(session: Session, article_id: int, hits: Sequence[ThemeHit]) -> None:
    """Re-tagging: swap an article's theme rows for new ones."""
    session.execute(delete(ArticleTheme).where(ArticleTheme.article_id == article_id))
    _insert_hits(session, article_id, hits)


def prune_articles(session: Session, *, older_than: datetime) -> int:
    """Retention: delete articles published before ``older_than`` (counts already made stay)."""
    ids = list(session.scalars(select(Article.id).where(Article.published_at < older_than)))
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        session.execute(delete(ArticleTheme).where(ArticleTheme.article_id.in_(chunk)))
        session.execute(delete(ArticleBand).where(ArticleBand.article_id.in_(chunk)))
        session.execute(delete(Article).where(Article.id.in_(chunk)))
    return len(ids)


def articles_for_retag(session: Session, *, since: datetime, after_id: int, limit: int
                       ) -> list[tuple[int, str, str, datetime, dict[str, str]]]:
    """A page of articles published since ``since`` (id order): id, title, text, published, {theme: version}."""
    rows = session.execute(select(Article.id, Article.title, Article.text, Article.published_at)
                           .where(Article.published_at >= since, Article.id > after_id)
                           .order_by(Article.id).limit(limit)).all()
    ids = [r[0] for r in rows]
    versions: dict[int, dict[str, str]] = {}
    if ids:
        for aid, theme, version in session.execute(select(ArticleTheme.article_id, ArticleTheme.theme,
                                                          ArticleTheme.version)
                                                   .where(ArticleTheme.article_id.in_(ids))):
            versions.setdefault(aid, {})[theme] = version
    return [(r[0], r[1], r[2], r[3], versions.get(r[0], {})) for r in rows]
