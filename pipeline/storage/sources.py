"""Storage for the ``sources`` aggregate: config sync, due-feed leases, fetch outcomes, health."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from pipeline.storage.db import in_chunks, storable, upsert_insert
from pipeline.storage.models import Source
from pipeline.types import SourceForUpdate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source as the config declares it."""

    name: str
    url: str
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What storage records about one poll of one feed (from update.py)."""

    source_id: int
    polled_at: datetime
    next_poll_at: datetime
    ok: bool
    not_modified: bool = False
    http_status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    new_url: str | None = None  # a permanent redirect moves the source
    stored: int = 0
    skipped: int = 0  # entries read from the feed that could not become articles (reasons in ``warning``)
    item_digests: bytes | None = None  # the document's raw-item digests (None: not scanned, forget old ones)
    owner: str | None = None  # the worker that leased the feed; its outcome is dropped if the lease moved on


def sync_sources(session: Session, specs: Sequence[SourceSpec], now: datetime) -> dict[str, int]:
    """Make the table match the config: add new sources, update URLs, disable removed ones.

    Removed sources are disabled, never deleted, so their articles and history stay. Several
    workers may sync at once: new rows go in with ON CONFLICT DO NOTHING, so none of them fails.
    Returns name -> id for the configured sources.
    """
    existing = {s.name: s for s in session.scalars(select(Source))}
    missing = [spec for spec in specs if spec.name not in existing]
    if missing:
        ins = upsert_insert(session, Source)
        session.execute(ins.on_conflict_do_nothing(index_elements=["name"]), [
            {"name": spec.name, "url": spec.url, "configured_url": spec.url, "enabled": spec.enabled,
             "status": "new", "error_count": 0,
             "entries_stored": 0, "created_at": now, "next_poll_at": now}
            for spec in missing])
        existing = {s.name: s for s in session.scalars(select(Source))}
    wanted = {spec.name for spec in specs}
    ids: dict[str, int] = {}
    for spec in specs:
        row = existing[spec.name]
        if (row.configured_url or row.url) != spec.url:
            # A new URL in the config is a new feed: forget the old validators so the first fetch is full.
            # (A permanent redirect changes `url` only, so it is kept across syncs.)
            row.url, row.configured_url = spec.url, spec.url
            row.etag, row.last_modified, row.body_hash = None, None, None
            row.next_poll_at = now
        if row.enabled != spec.enabled:
            row.enabled = spec.enabled
        ids[spec.name] = row.id
    for name, row in existing.items():
        if name not in wanted and row.enabled and row.url:
            row.enabled = False
    return ids


def ensure_import_source(session: Session, name: str, now: datetime) -> int:
    """The source row that backfilled articles of ``name`` belong to (created disabled for polling)."""
    row = session.scalars(select(Source).where(Source.name == name)).first()
    if row is None:
        row = Source(name=name, url="", enabled=False, status="import", error_count=0, entries_stored=0,
                     created_at=now)
        session.add(row)
        session.flush()
    return row.id


_CLAIM_TRIES = 20


def claim_due(session: Session, *, now: datetime, owner: str, lease: timedelta, all_enabled: bool = False,
              limit: int | None = None, polled_before: datetime | None = None) -> list[SourceForUpdate]:
    """Lease the feeds that are due (or every enabled one) to ``owner``.

    The lease is a compare-and-set UPDATE (only rows whose lease is free or expired change hands),
    so two workers never hold one feed, on SQLite as on PostgreSQL, where ``FOR UPDATE SKIP LOCKED``
    also keeps them from waiting on each other. A lease that is not released (a crashed worker)
    expires after ``lease``; a feed whose outcome could not be stored keeps its lease, and so is not
    handed out again in the same cycle. ``polled_before`` skips feeds already polled in this cycle,
    so a cycle can claim in batches (``--all`` would otherwise hand the same feeds out again).
    """
    free = or_(Source.lease_until.is_(None), Source.lease_until < now)
    q = select(Source.id).where(Source.enabled.is_(True), Source.url != "", free)
    if not all_enabled:
        q = q.where(or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))
    if polled_before is not None:
        q = q.where(or_(Source.last_polled_at.is_(None), Source.last_polled_at < polled_before))
    q = q.order_by(Source.next_poll_at.asc().nulls_first(), Source.id)
    if limit:
        q = q.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    won: set[int] = set()
    for _ in range(_CLAIM_TRIES):
        ids = list(session.scalars(q))
        if not ids:
            return []
        won = set(session.scalars(
            update(Source).where(Source.id.in_(ids), free).values(lease_owner=owner, lease_until=now + lease)
            .returning(Source.id)))
        if won:
            break  # else another worker took these between our read and our write: look again
    rows = session.scalars(select(Source).where(Source.id.in_(won)).order_by(Source.id)).all()
    return [SourceForUpdate(id=r.id, name=r.name, url=r.url, etag=r.etag, last_modified=r.last_modified,
                            body_hash=r.body_hash, error_count=r.error_count, item_digests=r.item_digests)
            for r in rows]


def record_outcome(session: Session, outcome: FeedOutcome) -> None:
    """Store a poll's outcome and release the lease; errors are counted, never dropped."""
    outcome = replace(outcome, error=storable(outcome.error), warning=storable(outcome.warning),
                      etag=storable(outcome.etag), last_modified=storable(outcome.last_modified),
                      title=storable(outcome.title), new_url=storable(outcome.new_url))
    row = session.get(Source, outcome.source_id)
    if row is None:
        return
    if outcome.owner is not None and row.lease_owner not in (None, outcome.owner):
        # Our lease expired and another worker holds the feed now: its outcome is the one to keep.
        log.warning("source %s: lease now held by %s; outcome of %s not recorded", row.name, row.lease_owner,
                    outcome.owner)
        return
    row.last_polled_at = outcome.polled_at
    row.next_poll_at = outcome.next_poll_at
    row.lease_owner, row.lease_until = None, None
    row.http_status = outcome.http_status
    if outcome.ok:
        row.status = "not_modified" if outcome.not_modified else "ok"
        row.error_count = 0
        row.last_ok_at = outcome.polled_at
        if not outcome.not_modified:  # an unchanged document keeps its warning (ill-formed XML, lost entries)
            row.last_warning = outcome.warning
            row.item_digests = outcome.item_digests
        if outcome.etag is not None or outcome.last_modified is not None or not outcome.not_modified:
            row.etag, row.last_modified = outcome.etag, outcome.last_modified
        if outcome.body_hash:
            row.body_hash = outcome.body_hash
        if outcome.title:
            row.title = outcome.title[:1000]
        if outcome.new_url:
            row.url = outcome.new_url
        row.entries_stored += outcome.stored
    else:
        row.status = "error"
        row.error_count += 1
        row.last_error = outcome.error
        row.last_error_kind = outcome.error_kind


def load_sources(session: Session, ids: Sequence[int]) -> list[Source]:
    """Load these sources into the session in one query, so that the per-feed reads and writes of
    :func:`record_outcome` and :func:`error_count` that follow find them there instead of each querying
    the database. The session holds loaded rows weakly: keep the returned list while those calls run."""
    return [row for chunk in in_chunks(ids) for row in session.scalars(select(Source).where(Source.id.in_(chunk)))]


def error_count(session: Session, source_id: int) -> int:
    """Consecutive failures of a source so far."""
    row = session.get(Source, source_id)
    return row.error_count if row is not None else 0


def release_leases(session: Session, owner: str) -> None:
    session.execute(update(Source).where(Source.lease_owner == owner).values(lease_owner=None, lease_until=None))


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).where(Source.url != "").order_by(Source.name)))


def source_to_dict(row: Source) -> dict[str, object]:
    """The public shape of a source (``sources list --json`` and ``/api/sources``)."""
    return {
        "id": row.id,
        "name": row.name,
        "url": row.url,
        "enabled": row.enabled,
        "title": row.title,
        "status": row.status,
        "http_status": row.http_status,
        "error_count": row.error_count,
        "last_error": row.last_error,
        "last_error_kind": row.last_error_kind,
        "last_warning": row.last_warning,
        "last_polled_at": row.last_polled_at,
        "last_ok_at": row.last_ok_at,
        "next_poll_at": row.next_poll_at,
        "entries_stored": row.entries_stored,
    }
