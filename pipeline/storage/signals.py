"""Storage for the ``signals`` aggregate: window counts (kept incrementally) and detector state.

Counts are maintained per dirty window: storing an article marks its window dirty,
and ``refresh_dirty_windows`` recomputes only those windows from the articles table
(indexed by publication time), so history is never rescanned.  Counting is by story
cluster: syndicated copies of one story count once in each window they appear in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, distinct, func, insert, select, text
from sqlalchemy.orm import Session

from pipeline.storage.db import Database, upsert_insert
from pipeline.storage.models import Article, ArticleTheme, DirtyWindow, Signal, Source, SourceWindow, WindowCount

TOTAL = "*"  # the theme key of a window's totals row


@dataclass(frozen=True, slots=True)
class StoredCount:
    """One theme's counts in one window, as storage hands them to detection."""

    theme: str
    window_start: datetime
    window_end: datetime
    x: int
    n: int
    sources: int
    raw_x: int
    raw_n: int
    sources_ok: int
    sources_total: int
    active_sources: int  # distinct sources with any article in the window
    top_source_x: int  # most of x that any one source contributed


def record_polls(session: Session, polls: Iterable[tuple[int, datetime, bool]]) -> None:
    """Count polls ``(source_id, window, ok)`` in one statement (an upsert: workers never collide)."""
    totals: dict[tuple[int, datetime], list[int]] = {}
    for source_id, window, ok in polls:
        counts = totals.setdefault((source_id, window), [0, 0])
        counts[0 if ok else 1] += 1
    if not totals:
        return
    table: Table = SourceWindow.__table__  # type: ignore[assignment]
    ins = upsert_insert(session, table)
    stmt = ins.on_conflict_do_update(
        index_elements=["source_id", "window_start"],
        set_={"polls_ok": table.c.polls_ok + ins.excluded.polls_ok,
              "polls_failed": table.c.polls_failed + ins.excluded.polls_failed})
    session.execute(stmt, [{"source_id": sid, "window_start": w, "polls_ok": ok, "polls_failed": failed}
                           for (sid, w), (ok, failed) in sorted(totals.items())])


def dirty_windows(session: Session) -> list[datetime]:
    return list(session.scalars(select(DirtyWindow.window_start).order_by(DirtyWindow.window_start)))


def refresh_window(session: Session, start: datetime, hours: float, now: datetime) -> None:
    """Recompute every theme's counts for one window and clear its dirty mark.

    The mark is cleared only if its generation is the one read before counting: an article stored
    meanwhile (by a poll running beside detection) bumps it, and the window stays dirty for the next pass.
    """
    generation = session.scalar(select(DirtyWindow.generation).where(DirtyWindow.window_start == start))
    end = start + timedelta(hours=hours)
    in_window = and_(Article.published_at >= start, Article.published_at < end)
    n, raw_n, active = session.execute(
        select(func.count(distinct(func.coalesce(Article.cluster_id, Article.id))), func.count(),
               func.count(distinct(Article.source_id))).where(in_window)
    ).one()
    per_theme = session.execute(
        select(ArticleTheme.theme, func.count(distinct(func.coalesce(Article.cluster_id, Article.id))),
               func.count(), func.count(distinct(Article.source_id)))
        .join(Article, Article.id == ArticleTheme.article_id)
        .where(in_window)
        .group_by(ArticleTheme.theme)
    ).all()
    top: dict[str, int] = {}
    for theme, cnt in session.execute(
        select(ArticleTheme.theme, func.count(distinct(func.coalesce(Article.cluster_id, Article.id))))
        .join(Article, Article.id == ArticleTheme.article_id)
        .where(in_window)
        .group_by(ArticleTheme.theme, Article.source_id)
    ):
        top[theme] = max(top.get(theme, 0), int(cnt))
    ok, total = session.execute(
        select(func.count(distinct(SourceWindow.source_id)).filter(SourceWindow.polls_ok > 0),
               func.count(distinct(SourceWindow.source_id)))
        .where(SourceWindow.window_start == start)
    ).one()
    session.execute(delete(WindowCount).where(WindowCount.window_start == start))
    rows: list[dict[str, Any]] = [
        {"theme": TOTAL, "window_start": start, "window_end": end, "x": n, "n": n, "sources": active,
         "raw_x": raw_n, "raw_n": raw_n, "sources_ok": ok, "sources_total": total, "updated_at": now,
         "top_source_x": 0}
    ]
    rows += [
        {"theme": theme, "window_start": start, "window_end": end, "x": x, "n": n, "sources": srcs,
         "raw_x": raw_x, "raw_n": raw_n, "sources_ok": ok, "sources_total": total, "updated_at": now,
         "top_source_x": top.get(theme, 0)}
        for theme, x, raw_x, srcs in per_theme
    ]
    session.execute(insert(WindowCount), rows)
    if generation is not None:
        session.execute(delete(DirtyWindow).where(DirtyWindow.window_start == start,
                                                  DirtyWindow.generation == generation))


def counts_between(session: Session, themes: Sequence[str], first: datetime, last_end: datetime,
                   hours: float) -> dict[str, list[StoredCount]]:
    """Every window in [first, last_end) per theme, zeros filled in, in order."""
    rows = session.scalars(
        select(WindowCount).where(WindowCount.window_start >= first, WindowCount.window_start < last_end)
    ).all()
    by_key = {(r.theme, r.window_start): r for r in rows}
    out: dict[str, list[StoredCount]] = {t: [] for t in themes}
    length = timedelta(hours=hours)
    start = first
    while start < last_end:
        tot = by_key.get((TOTAL, start))
        n = tot.n if tot else 0
        for t in themes:
            r = by_key.get((t, start))
            out[t].append(StoredCount(
                theme=t, window_start=start, window_end=start + length, x=r.x if r else 0, n=n,
                sources=r.sources if r else 0, raw_x=r.raw_x if r else 0, raw_n=tot.raw_n if tot else 0,
                sources_ok=tot.sources_ok if tot else 0, sources_total=tot.sources_total if tot else 0,
                active_sources=tot.sources if tot else 0, top_source_x=r.top_source_x if r else 0))
        start += length
    return out


def article_span(session: Session) -> tuple[datetime | None, datetime | None]:
    """Earliest and latest publication time stored."""
    lo, hi = session.execute(select(func.min(Article.published_at), func.max(Article.published_at))).one()
    return lo, hi


def save_signal(session: Session, *, theme: str, window_start: datetime, direction: str, level: str, s: float,
                p0: float | None, phi: float | None, in_episode: bool, state: Any, decision: Any,
                now: datetime) -> None:
    """Upsert the detector's decision and carried state for one theme, window and direction."""
    row = session.get(Signal, (theme, window_start, direction))
    if row is None:
        session.add(Signal(theme=theme, window_start=window_start, direction=direction, level=level, s=s, p0=p0,
                           phi=phi, in_episode=in_episode, state=state, decision=decision, computed_at=now))
    else:
        row.level, row.s, row.p0, row.phi, row.in_episode = level, s, p0, phi, in_episode
        row.state, row.decision, row.computed_at = state, decision, now


def signals_before(session: Session, theme: str, before: datetime, limit: int) -> list[Signal]:
    """The latest ``limit`` stored signals of a theme before a window, newest first."""
    return list(session.scalars(
        select(Signal).where(Signal.theme == theme, Signal.window_start < before)
        .order_by(Signal.window_start.desc()).limit(limit)))


def series(session: Session, theme: str, first: datetime, last_end: datetime) -> list[dict[str, Any]]:
    """A theme's window counts and signals for charts and ``/api/themes/{id}/series``."""
    counts = {r.window_start: r for r in session.scalars(
        select(WindowCount).where(WindowCount.theme == theme, WindowCount.window_start >= first,
                                  WindowCount.window_start < last_end))}
    totals = {r.window_start: r for r in session.scalars(
        select(WindowCount).where(WindowCount.theme == TOTAL, WindowCount.window_start >= first,
                                  WindowCount.window_start < last_end))}
    sigs: dict[datetime, dict[str, Signal]] = {}
    for s in session.scalars(select(Signal).where(Signal.theme == theme, Signal.window_start >= first,
                                                  Signal.window_start < last_end)):
        sigs.setdefault(s.window_start, {})[s.direction] = s
    out = []
    for start in sorted(set(totals) | set(counts)):
        c, t, sg = counts.get(start), totals.get(start), sigs.get(start, {})
        out.append({
            "window_start": start, "x": c.x if c else 0, "n": t.n if t else 0, "sources": c.sources if c else 0,
            "raw_x": c.raw_x if c else 0, "raw_n": t.raw_n if t else 0,
            "s_rise": sg["rise"].s if "rise" in sg else None, "s_fall": sg["fall"].s if "fall" in sg else None,
            "p0": (sg.get("rise") or sg.get("fall")).p0 if sg else None,  # type: ignore[union-attr]
        })
    return out


def theme_articles(session: Session, themes: Sequence[str], start: datetime, end: datetime,
                   limit: int) -> list[dict[str, Any]]:
    """The best-scoring stories carrying any of ``themes`` in [start, end), one per story cluster,
    with their evidence snippets and how many copies the cluster has."""
    rows = session.execute(
        select(Article.id, Article.title, Article.url, Article.published_at,
               func.coalesce(Article.cluster_id, Article.id), Source.name,
               ArticleTheme.theme, ArticleTheme.score, ArticleTheme.evidence)
        .join(ArticleTheme, ArticleTheme.article_id == Article.id)
        .join(Source, Source.id == Article.source_id)
        .where(ArticleTheme.theme.in_(list(themes)), Article.published_at >= start, Article.published_at < end)
        .order_by(ArticleTheme.score.desc(), Article.published_at.desc(), Article.id)
        .limit(limit * 5)
    ).all()
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for aid, title, url, published, cluster, source, theme, score, evidence in rows:
        key = cluster if cluster is not None else aid
        if key in seen:
            continue
        seen.add(key)
        out.append({"article_id": aid, "title": title, "url": url, "published": published.isoformat(),
                    "source": source, "theme": theme, "score": score, "cluster_id": key,
                    "evidence": [e.get("snippet") for e in (evidence or [])][:3]})
        if len(out) >= limit:
            break
    if out:
        sizes = dict(session.execute(
            select(func.coalesce(Article.cluster_id, Article.id), func.count())
            .where(func.coalesce(Article.cluster_id, Article.id).in_([o["cluster_id"] for o in out]))
            .group_by(func.coalesce(Article.cluster_id, Article.id))).all())
        for o in out:
            o["copies"] = int(sizes.get(o["cluster_id"], 1))
    return out


def last_signal_window(session: Session, theme: str) -> Signal | None:
    """The theme's latest stored signal (any direction)."""
    return session.scalars(select(Signal).where(Signal.theme == theme)
                           .order_by(Signal.window_start.desc()).limit(1)).first()


def shifts_between(session: Session, first: datetime, end: datetime) -> list[Signal]:
    """Stored watch/alert signals in [first, end), for composite rules."""
    return list(session.scalars(select(Signal).where(Signal.window_start >= first, Signal.window_start < end,
                                                     Signal.level.in_(["watch", "alert"]))))


_DETECTION_LOCK = 0x70_69_70_65  # an arbitrary, fixed advisory-lock key ("pipe")


@contextmanager
def detection_lock(db: Database) -> Iterator[bool]:
    """Whether this process may run detection now: on PostgreSQL one worker at a time holds an advisory
    lock (the others skip the run, nothing is lost: the holder covers every due window); SQLite has one
    machine and one scheduler, so it always may."""
    if db.dialect != "postgresql":
        yield True
        return
    with db.engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _DETECTION_LOCK}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _DETECTION_LOCK})
                conn.commit()
