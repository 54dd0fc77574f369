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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from pipeline.normalize.near_dup import signature_from_bytes, signature_to_bytes
from pipeline.storage.db import in_chunks, storable, upsert_insert
from pipeline.storage.models import Article, ArticleBand, ArticleTheme, DirtyWindow
from pipeline.types import ArticleData, ThemeHit

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
    band_keys: tuple[int, ...] = ()  # LSH band keys as integers (see band_ints)


@dataclass(slots=True)
class StoreResult:
    """Counts of one batch."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    clustered: int = 0  # new rows joined to an existing story cluster
    article_ids: list[int] = field(default_factory=list)
    inserted_by_source: dict[int, int] = field(default_factory=dict)


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


def store_articles(
    session: Session,
    batch: Sequence[ArticleToStore],
    *,
    now: datetime,
    window_of: Callable[[datetime], datetime],
    similar: Callable[[Sequence[int], Sequence[int]], bool],
) -> StoreResult:
    """Store a batch (one feed's entries, several feeds', or a chunk of an import); see the module docstring."""
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
    existing, by_url = _existing_rows(session, items)

    new_items: list[ArticleToStore] = []
    matched: set[int] = set()
    for item in items:
        d = item.data
        row = existing.get((d.source_id, d.identity))
        if row is None and d.url:
            # Same link under a new guid: the feed changed its guids, so the row is updated, unless the
            # row's own guid is still in this batch or the row was already matched (distinct entries that
            # share a link, such as a live blog, must not overwrite each other).
            candidate = by_url.get((d.source_id, d.url))
            if (candidate is not None and candidate.id not in matched
                    and (d.source_id, candidate.identity) not in by_key):
                row = candidate
        if row is None:
            new_items.append(item)
            continue
        matched.add(row.id)
        result.article_ids.append(row.id)
        if row.content_hash == d.content_hash and row.identity == d.identity:
            result.unchanged += 1
            continue
        dirty.add(window_of(row.published_at))
        dirty.add(window_of(d.published_at))
        _update_row(session, row.id, item, now)
        result.updated += 1

    if new_items:
        ids = _insert_new(session, new_items, now, similar, result)
        for it in new_items:
            dirty.add(window_of(it.data.published_at))
            result.inserted_by_source[it.data.source_id] = result.inserted_by_source.get(it.data.source_id, 0) + 1
        result.inserted += len(ids)
        result.article_ids.extend(ids)

    mark_dirty(session, dirty, now)
    return result


@dataclass(frozen=True, slots=True)
class _Row:
    """What dedup needs of a stored article (plain columns, no ORM object: loading those cost more)."""

    id: int
    identity: str
    url: str | None
    content_hash: str
    published_at: datetime
    entry_digest: str | None = None


_BY_IDENTITY = (select(_ARTICLES.c.id, _ARTICLES.c.identity, _ARTICLES.c.url, _ARTICLES.c.content_hash,
                       _ARTICLES.c.published_at, _ARTICLES.c.entry_digest)
                .where(_ARTICLES.c.source_id == bindparam("source"),
                       _ARTICLES.c.identity.in_(bindparam("values", expanding=True))))
_BY_URL = (select(_ARTICLES.c.id, _ARTICLES.c.identity, _ARTICLES.c.url, _ARTICLES.c.content_hash,
                  _ARTICLES.c.published_at)
           .where(_ARTICLES.c.source_id == bindparam("source"),
                  _ARTICLES.c.url.in_(bindparam("values", expanding=True))))
# The statements below are built once: an IN list given as one expanding parameter is not coerced value by
# value on every call, which, with thousands of band keys a batch, cost more than the queries.
_CLUSTER = func.coalesce(_ARTICLES.c.cluster_id, _ARTICLES.c.id)
_HASH_CLUSTERS = select(_ARTICLES.c.content_hash, _CLUSTER).where(
    _ARTICLES.c.content_hash.in_(bindparam("values", expanding=True)))
_URL_CLUSTERS = select(_ARTICLES.c.url, _CLUSTER).where(_ARTICLES.c.url.in_(bindparam("values", expanding=True)))
_SIGNATURES = select(_ARTICLES.c.id, _ARTICLES.c.signature, _CLUSTER).where(
    _ARTICLES.c.id.in_(bindparam("values", expanding=True)))


def _select_in(session: Session, stmt: Select[Any], values: Sequence[object], **params: object) -> Iterator[Any]:
    """Rows of ``stmt`` for ``values`` (its expanding ``values`` parameter), in chunks."""
    for chunk in in_chunks(values):
        yield from session.execute(stmt, {"values": list(chunk), **params})


def _by_identity(session: Session, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], _Row]:
    """The stored rows among ``(source_id, identity)`` keys (one indexed query per source and chunk)."""
    wanted: dict[int, dict[str, None]] = {}
    for source_id, identity in keys:
        wanted.setdefault(source_id, {})[identity] = None
    return {(source_id, r.identity): _Row(r.id, r.identity, r.url, r.content_hash, r.published_at, r.entry_digest)
            for source_id, identities in wanted.items()
            for r in _select_in(session, _BY_IDENTITY, list(identities), source=source_id)}


class StoredEntry(NamedTuple):
    """What a poll compares a feed entry against: the stored article's content hash and entry digest."""

    content_hash: str
    entry_digest: str | None


_FILL_DIGEST = (update(_ARTICLES)
                .where(_ARTICLES.c.source_id == bindparam("source"), _ARTICLES.c.identity == bindparam("ident"),
                       _ARTICLES.c.entry_digest.is_(None))
                .values(entry_digest=bindparam("digest")))


def stored_entries(session: Session, source_id: int, identities: Sequence[str]) -> dict[str, StoredEntry]:
    """identity -> (content hash, entry digest) of the stored articles of ``source_id`` among ``identities``."""
    rows = _by_identity(session, ((source_id, identity) for identity in identities))
    return {row.identity: StoredEntry(row.content_hash, row.entry_digest) for row in rows.values()}


def fill_entry_digests(session: Session, source_id: int, digests: Sequence[tuple[str, str]]) -> None:
    """Record ``(identity, entry digest)`` for stored articles that have none yet (rows stored before the
    digest existed); a row that has one keeps it."""
    if digests:
        session.execute(_FILL_DIGEST, [{"source": source_id, "ident": i, "digest": d} for i, d in digests])


def _band_members(session: Session, keys: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(band key, article id) of stored articles having any of ``keys``.

    Thousands of keys a batch: the statement is written for the driver (one array parameter on PostgreSQL,
    plain placeholders on SQLite), since SQLAlchemy names and renders an expanded IN list value by value.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        if keys:
            yield from conn.exec_driver_sql(
                f"SELECT band_key, article_id FROM {_BANDS.name} WHERE band_key = ANY(%s)", (list(keys),))
        return
    for chunk in in_chunks(keys):
        marks = ",".join("?" * len(chunk))
        yield from conn.exec_driver_sql(
            f"SELECT band_key, article_id FROM {_BANDS.name} WHERE band_key IN ({marks})", tuple(chunk))


def _existing_rows(session: Session, items: Sequence[ArticleToStore]
                   ) -> tuple[dict[tuple[int, str], _Row], dict[tuple[int, str], _Row]]:
    """Stored rows of these items' sources, by identity and (for identities not found) by canonical URL."""
    existing = _by_identity(session, ((it.data.source_id, it.data.identity) for it in items))
    urls: dict[int, dict[str, None]] = {}
    for it in items:
        d = it.data
        if d.url and (d.source_id, d.identity) not in existing:
            urls.setdefault(d.source_id, {})[d.url] = None
    by_url = {(source_id, r.url or ""): _Row(r.id, r.identity, r.url, r.content_hash, r.published_at)
              for source_id, wanted in urls.items()
              for r in _select_in(session, _BY_URL, list(wanted), source=source_id)}
    return existing, by_url


def _update_row(session: Session, article_id: int, item: ArticleToStore, now: datetime) -> None:
    d = item.data
    session.execute(update(_ARTICLES).where(_ARTICLES.c.id == article_id).values(
        identity=d.identity, url=d.url, title=d.title, text=d.text, published_at=d.published_at,
        date_estimated=d.date_estimated, updated_at=now, content_hash=d.content_hash,
        signature=pack_signature(d.shingle_signature), entry_digest=d.entry_digest))
    session.execute(delete(_THEMES).where(_THEMES.c.article_id == article_id))
    session.execute(delete(_BANDS).where(_BANDS.c.article_id == article_id))
    _insert_hits(session, article_id, item.hits)
    _insert_band_rows(session, [(k, article_id) for k in dict.fromkeys(item.band_keys)])


def _insert_new(session: Session, new_items: Sequence[ArticleToStore], now: datetime,
                similar: Callable[[Sequence[int], Sequence[int]], bool], result: StoreResult) -> list[int]:
    """Insert new articles with their cluster, band keys and theme hits; their ids in order."""
    clusters = _find_clusters(session, new_items, similar)
    rows = [
        {
            "source_id": it.data.source_id, "identity": it.data.identity, "url": it.data.url,
            "title": it.data.title, "text": it.data.text, "published_at": it.data.published_at,
            "fetched_at": it.data.fetched_at, "updated_at": now, "date_estimated": it.data.date_estimated,
            "content_hash": it.data.content_hash,
            "cluster_id": _existing_cluster(clusters[i]),
            "signature": pack_signature(it.data.shingle_signature),
            "entry_digest": it.data.entry_digest,
        }
        for i, it in enumerate(new_items)
    ]
    # A plain executemany, then one indexed read of the new ids: SQLite cannot promise that RETURNING
    # rows of a multi-row insert come in parameter order, so SQLAlchemy inserted row by row to keep it.
    session.execute(_ARTICLES.insert(), rows)
    keys = [(it.data.source_id, it.data.identity) for it in new_items]
    inserted = _by_identity(session, keys)
    ids = [inserted[k].id for k in keys]
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
            session.execute(update(_ARTICLES).where(_ARTICLES.c.id == aid).values(cluster_id=final[-1]))
        else:
            final.append(c)
    _insert_band_rows(session, [(k, aid) for aid, it in zip(ids, new_items, strict=True)
                                for k in dict.fromkeys(it.band_keys)])
    hits = [_hit_row(aid, h) for aid, it in zip(ids, new_items, strict=True) for h in it.hits]
    if hits:
        session.execute(_THEMES.insert(), hits)
    return ids


def _existing_cluster(found: int | None) -> int | None:
    """A cluster id found in the database, or None (own story, or a batch-internal mark fixed later)."""
    return found if found is not None and found >= 0 else None


def _find_clusters(
    session: Session, items: Sequence[ArticleToStore], similar: Callable[[Sequence[int], Sequence[int]], bool]
) -> list[int | None]:
    """For each new item: an existing cluster id, -(k+1) for the cluster of batch item k, or None."""
    out: list[int | None] = [None] * len(items)
    by_hash: dict[str, int] = {}
    for h, cid in _select_in(session, _HASH_CLUSTERS, list({it.data.content_hash for it in items})):
        if cid is not None:
            by_hash.setdefault(h, cid)
    by_url: dict[str, int] = {}
    for u, cid in _select_in(session, _URL_CLUSTERS, list({it.data.url for it in items if it.data.url})):
        if cid is not None and u:
            by_url.setdefault(u, cid)
    cand: dict[int, list[int]] = {}
    for band, aid in _band_members(session, list({k for it in items for k in it.band_keys})):
        cand.setdefault(band, []).append(aid)
    sigs: dict[int, tuple[tuple[int, ...], int]] = {}
    for art_id, blob, cluster in _select_in(session, _SIGNATURES, list({a for ids in cand.values() for a in ids})):
        sigs[art_id] = (unpack_signature(blob), int(cluster))

    seen_hash: dict[str, int] = {}
    seen_url: dict[str, int] = {}
    seen_band: dict[int, list[int]] = {}
    for k, it in enumerate(items):
        d = it.data
        hit: int | None = by_hash.get(d.content_hash) or (by_url.get(d.url) if d.url else None)
        if hit is None and cand:
            hit = _similar_stored(it, cand, sigs, similar)
        if hit is None:
            j = seen_hash.get(d.content_hash)
            if j is None and d.url:
                j = seen_url.get(d.url)
            if j is None:
                j = _similar_in_batch(it, items, seen_band, similar)
            if j is not None:
                root = out[j]
                hit = root if root is not None else -(j + 1)
        out[k] = hit
        seen_hash.setdefault(d.content_hash, k)
        if d.url:
            seen_url.setdefault(d.url, k)
        for key in it.band_keys:
            seen_band.setdefault(key, []).append(k)
    return out


def _similar_stored(it: ArticleToStore, cand: dict[int, list[int]], sigs: dict[int, tuple[tuple[int, ...], int]],
                    similar: Callable[[Sequence[int], Sequence[int]], bool]) -> int | None:
    """The cluster of a stored article sharing a band key with ``it`` and similar enough, if any."""
    for key in it.band_keys:
        for aid in cand.get(key, ()):
            sig, cid = sigs.get(aid, ((), aid))
            if sig and similar(sig, it.data.shingle_signature):
                return cid
    return None


def _similar_in_batch(it: ArticleToStore, items: Sequence[ArticleToStore], seen_band: dict[int, list[int]],
                      similar: Callable[[Sequence[int], Sequence[int]], bool]) -> int | None:
    """The index of an earlier batch item sharing a band key with ``it`` and similar enough, if any."""
    for key in it.band_keys:
        for j in seen_band.get(key, ()):
            if similar(items[j].data.shingle_signature, it.data.shingle_signature):
                return j
    return None


def _hit_row(article_id: int, hit: ThemeHit) -> dict[str, object]:
    return {
        "article_id": article_id, "theme": hit.theme, "score": hit.score, "version": hit.version,
        "evidence": [{"start": e.start, "end": e.end, "term": e.term, "snippet": e.snippet} for e in hit.evidence],
    }


def _insert_hits(session: Session, article_id: int, hits: Sequence[ThemeHit]) -> None:
    if hits:
        session.execute(_THEMES.insert(), [_hit_row(article_id, h) for h in hits])


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
    ins = upsert_insert(session, DirtyWindow)
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
    for chunk in in_chunks(ids):
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
