"""Read queries of the review page and the metrics endpoint (alert review actions live in ``storage.alerts``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.storage.models import Alert, Article, ArticleTheme, Source, WindowCount
from pipeline.storage.models.deliveries import Delivery, Notification
from pipeline.storage.signals import TOTAL


@dataclass(frozen=True, slots=True)
class EvidenceArticle:
    """An article behind an alert, with the stored evidence of the theme it was found for."""

    id: int
    title: str
    text: str  # the article's plain text: evidence offsets refer to title + blank line + text
    url: str | None
    published_at: datetime
    source: str | None
    cluster_id: int | None
    theme: str
    score: float
    evidence: tuple[dict[str, Any], ...]  # {start, end, term, snippet}, as the matcher stored them


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """Counts of what the database holds, read at scrape time."""

    sources_by_status: dict[str, int]  # enabled, polled sources only
    sources_enabled: int
    sources_disabled: int
    articles: int
    alerts_by_status: dict[str, int]
    deliveries_by_status: dict[str, int]
    notifications_by_status: dict[str, int]
    last_poll_at: datetime | None
    last_fetched_at: datetime | None  # newest article stored
    last_window_start: datetime | None  # newest window with counts


def ping(session: Session) -> None:
    """A trivial round trip (raises StorageError through ``Database.session`` when the database is down)."""
    session.execute(select(1)).scalar_one()


def last_poll_at(session: Session) -> datetime | None:
    """When any source was last polled."""
    value: datetime | None = session.scalar(select(func.max(Source.last_polled_at)))
    return value


def alert_themes(session: Session) -> list[str]:
    """Every theme (or composite rule id) that has alerts, sorted."""
    return sorted(session.scalars(select(Alert.theme).distinct()))


def theme_has_data(session: Session, theme: str) -> bool:
    """True when the theme has window counts or alerts (so it is known even if no longer configured)."""
    if session.scalar(select(WindowCount.window_start).where(WindowCount.theme == theme).limit(1)) is not None:
        return True
    return session.scalar(select(Alert.id).where(Alert.theme == theme).limit(1)) is not None


def window_span(session: Session) -> tuple[datetime | None, datetime | None]:
    """Earliest and latest window start with counts (from the per-window totals)."""
    lo, hi = session.execute(
        select(func.min(WindowCount.window_start), func.max(WindowCount.window_start)).where(
            WindowCount.theme == TOTAL)
    ).one()
    return lo, hi


def evidence_articles(
    session: Session,
    themes: Sequence[str],
    *,
    window_start: datetime,
    window_end: datetime,
    limit: int,
    article_ids: Sequence[int] = (),
) -> list[EvidenceArticle]:
    """The best-scoring articles carrying ``themes`` published in the window, one per story cluster.

    With ``article_ids`` (an explanation's own list) exactly those articles are returned, in that order,
    whatever their publication time.
    """
    if limit <= 0 or not themes:
        return []
    stmt = (
        select(Article, ArticleTheme.theme, ArticleTheme.score, ArticleTheme.evidence, Source.name)
        .join(ArticleTheme, ArticleTheme.article_id == Article.id)
        .join(Source, Source.id == Article.source_id, isouter=True)
        .where(ArticleTheme.theme.in_(list(themes)))
    )
    if article_ids:
        stmt = stmt.where(Article.id.in_(list(article_ids)))
    else:
        stmt = stmt.where(Article.published_at >= window_start, Article.published_at < window_end)
    # Several times the limit: syndicated copies and multi-theme rows collapse below.
    stmt = stmt.order_by(ArticleTheme.score.desc(), Article.published_at.desc(), Article.id).limit(limit * 4)
    out: list[EvidenceArticle] = []
    seen: set[int] = set()
    for article, theme, score, evidence, source in session.execute(stmt):
        key = article.cluster_id if article.cluster_id is not None else article.id  # NULL: its own story
        if key in seen:
            continue
        seen.add(key)
        spans = tuple(e for e in (evidence or []) if isinstance(e, dict))
        out.append(EvidenceArticle(
            id=article.id, title=article.title, text=article.text, url=article.url,
            published_at=article.published_at, source=source, cluster_id=article.cluster_id, theme=theme,
            score=float(score), evidence=spans,
        ))
    if article_ids:
        order = {aid: i for i, aid in enumerate(article_ids)}
        out.sort(key=lambda a: order.get(a.id, len(order)))
    return out[:limit]


def _by_status(session: Session, column: Any, *where: Any) -> dict[str, int]:
    stmt = select(column, func.count()).where(*where).group_by(column)
    return {str(status): int(count) for status, count in session.execute(stmt)}


def metrics_snapshot(session: Session) -> MetricsSnapshot:
    """Everything ``/metrics`` reports, in a handful of aggregate queries."""
    polled = Source.url != ""  # import-only sources (backfill) have no URL and are never polled
    enabled, disabled = session.execute(
        select(func.count().filter(Source.enabled.is_(True)), func.count().filter(Source.enabled.is_(False)))
        .where(polled)
    ).one()
    return MetricsSnapshot(
        sources_by_status=_by_status(session, Source.status, polled, Source.enabled.is_(True)),
        sources_enabled=int(enabled or 0),
        sources_disabled=int(disabled or 0),
        articles=int(session.scalar(select(func.count()).select_from(Article)) or 0),
        alerts_by_status=_by_status(session, Alert.status),
        deliveries_by_status=_by_status(session, Delivery.status),
        notifications_by_status=_by_status(session, Notification.status),
        last_poll_at=last_poll_at(session),
        last_fetched_at=session.scalar(select(func.max(Article.fetched_at))),
        last_window_start=window_span(session)[1],
    )
