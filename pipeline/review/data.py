"""What each page and API call reads, in one session each: thin orchestrators over the storage modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pipeline.alerts.values import ALERT_STATUSES, AlertEventRecord, AlertRecord, DeliveryRecord
from pipeline.errors import InputError, NotFoundError
from pipeline.review.chart import AlertMark, SeriesPoint
from pipeline.review.views import ArticleView, article_views, refs_as_views
from pipeline.storage import alerts as alert_store
from pipeline.storage import review as review_store
from pipeline.storage.db import Database
from pipeline.storage.deliveries import list_deliveries
from pipeline.storage.signals import series
from pipeline.timewindows import window_start

PAGE_ARTICLES = 10  # articles shown on an alert's page
DEFAULT_WINDOWS = 90  # windows a theme page shows when no period is asked for
MAX_WINDOWS = 3700  # about ten years of days
MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class AlertDetail:
    alert: AlertRecord
    events: tuple[AlertEventRecord, ...]
    deliveries: tuple[DeliveryRecord, ...]
    articles: tuple[ArticleView, ...]


@dataclass(frozen=True, slots=True)
class ThemeSeries:
    theme: str
    window_hours: float
    first: datetime | None  # first window start shown (None: no data at all)
    last_end: datetime | None
    points: tuple[SeriesPoint, ...]
    sources: tuple[int, ...]  # distinct sources behind x, per point
    raw: tuple[tuple[int, int], ...]  # (raw_x, raw_n) per point
    alerts: tuple[AlertRecord, ...]


def parse_id(text: str, what: str = "alert") -> int:
    """A path id as an int; anything else is a 404 naming the id."""
    if not text.isdigit() or int(text) > MAX_ID:
        raise NotFoundError(f"{what} {text!r} does not exist")
    return int(text)


def parse_status(value: str | None) -> str | None:
    if value in (None, "", "all"):
        return None
    if value not in ALERT_STATUSES:
        raise InputError(f"status must be one of {', '.join(ALERT_STATUSES)} (or all), got {value!r}")
    return value


def parse_day(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{what}: not an ISO 8601 date: {value!r}") from exc


def inbox(db: Database, *, status: str | None, theme: str | None, limit: int = 500) -> tuple[list[AlertRecord], bool]:
    """Alerts for the inbox, open ones first, then newest window first; True when the list was cut at ``limit``."""
    with db.session() as s:
        if status is None:
            rows = alert_store.list_alerts(s, status="open", theme=theme, limit=limit + 1)
            if len(rows) <= limit:
                rest = alert_store.list_alerts(s, theme=theme, limit=limit + 1 + len(rows))
                rows += [a for a in rest if a.status != "open"]
        else:
            rows = alert_store.list_alerts(s, status=status, theme=theme, limit=limit + 1)
    return rows[:limit], len(rows) > limit


def alert_detail(db: Database, alert_id: int) -> AlertDetail:
    with db.session() as s:
        alert = alert_store.get_alert(s, alert_id)
        events = alert_store.alert_events(s, alert_id)
        deliveries = list_deliveries(s, alert_ids=[alert_id])
        articles = _articles(s, alert)
    return AlertDetail(alert, tuple(events), tuple(deliveries), tuple(articles))


def _articles(session: Any, alert: AlertRecord) -> list[ArticleView]:
    """The articles behind an alert with their evidence; the alerts module's list when evidence is gone."""
    e = alert.explanation or {}
    themes = [alert.theme] + [m["theme"] for m in e.get("members") or []
                              if isinstance(m, dict) and isinstance(m.get("theme"), str)]
    given = e.get("top_articles")
    ids: list[int] = []
    for d in given if isinstance(given, list) else []:
        aid = d.get("article_id", d.get("id")) if isinstance(d, dict) else None
        if isinstance(aid, int) and not isinstance(aid, bool):
            ids.append(aid)
    found = review_store.evidence_articles(session, themes, window_start=alert.window_start,
                                           window_end=alert.window_end, limit=PAGE_ARTICLES, article_ids=ids)
    if found:
        return article_views(found)
    return refs_as_views(alert_store.top_articles(session, alert, PAGE_ARTICLES))


def review(db: Database, alert_id: int, action: str, *, note: str | None, actor: str, now: datetime) -> AlertDetail:
    """Apply a review action through the alerts storage, then read the alert back."""
    with db.session() as s:
        alert_store.review_alert(s, alert_id, action, now=now, note=note, actor=actor)
    return alert_detail(db, alert_id)


def theme_known(db: Database, theme: str, configured: set[str]) -> bool:
    if theme in configured:
        return True
    with db.session() as s:
        return review_store.theme_has_data(s, theme)


def theme_series(db: Database, theme: str, *, hours: float, first_day: date | None,
                 last_day: date | None) -> ThemeSeries:
    """The theme's windows in the period (both days included), every window present, zeros filled in.

    Without a period: the latest ``DEFAULT_WINDOWS`` windows that have counts.
    """
    length = timedelta(hours=hours)
    with db.session() as s:
        lo, hi = review_store.window_span(s)
        if last_day is not None:
            day_end = datetime.combine(last_day, time(0), tzinfo=UTC) + timedelta(days=1)
            last_end = window_start(day_end - timedelta(microseconds=1), hours) + length
        elif hi is not None:
            last_end = hi + length
        else:
            last_end = None
        if first_day is not None:
            first = window_start(datetime.combine(first_day, time(0), tzinfo=UTC), hours)
        elif last_end is not None:
            first = last_end - DEFAULT_WINDOWS * length
            if lo is not None and last_day is None:
                first = max(first, lo)
        else:
            first = None
        if first is None or last_end is None:
            return ThemeSeries(theme, hours, None, None, (), (), (), tuple(alert_store.list_alerts(s, theme=theme)))
        if last_end <= first:
            raise InputError("the period is empty: 'from' must not be after 'to'")
        if (last_end - first) / length > MAX_WINDOWS:
            raise InputError(f"the period spans more than {MAX_WINDOWS} windows: ask for a shorter one")
        rows = {r["window_start"]: r for r in series(s, theme, first, last_end)}
        alerts = alert_store.list_alerts(s, theme=theme, since=first, until=last_end)
    points, sources, raw = [], [], []
    start = first
    while start < last_end:
        r = rows.get(start, {})
        points.append(SeriesPoint(start, int(r.get("x", 0)), int(r.get("n", 0)), r.get("p0"), r.get("s_rise"),
                                  r.get("s_fall")))
        sources.append(int(r.get("sources", 0)))
        raw.append((int(r.get("raw_x", 0)), int(r.get("raw_n", 0))))
        start += length
    return ThemeSeries(theme, hours, first, last_end, tuple(points), tuple(sources), tuple(raw),
                       tuple(sorted(alerts, key=lambda a: a.window_start)))


def alert_marks(alerts: tuple[AlertRecord, ...]) -> list[AlertMark]:
    return [AlertMark(a.id, a.window_start, a.direction, a.status) for a in alerts]
