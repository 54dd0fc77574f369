"""Storage of alerts: raising (with the outbox rows, in the caller's transaction), reading, review, silences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from pipeline.alerts.payload import json_safe
from pipeline.alerts.routing import active_silence, delivery_due, route
from pipeline.alerts.settings import ChannelSettings, Route
from pipeline.alerts.values import (
    ALERT_STATUSES,
    REVIEW_STATUS,
    AlertEventRecord,
    AlertIntent,
    AlertRecord,
    ArticleRef,
    SilenceRecord,
)
from pipeline.errors import InputError, NotFoundError
from pipeline.storage.db import upsert_insert
from pipeline.storage.deliveries import open_group_due
from pipeline.storage.models import Alert, AlertEvent, Article, ArticleTheme, Source
from pipeline.storage.models.deliveries import Delivery, Silence


def raise_alert(
    session: Session,
    intent: AlertIntent,
    *,
    channels: Sequence[ChannelSettings],
    routes: Sequence[Route],
    now: datetime,
    silences: Iterable[SilenceRecord] = (),
    default_channels: Sequence[str] | None = None,
    group_wait: timedelta = timedelta(0),
) -> int | None:
    """Store ``intent`` as an alert with its 'raised' event and one delivery row per routed channel.

    Everything happens in the caller's transaction, so the alert and its outbox rows commit together.
    Returns the new alert's id, or None when an alert for the same theme, direction and window exists
    (re-running detection never raises twice). ``silences`` come from config; stored silences are read
    here. A muted alert is stored with a 'silenced' event naming the silence, and gets no delivery row.
    Per-channel ``group_wait`` overrides (``channel.group_wait``) win over ``group_wait``.
    """
    values: dict[str, Any] = {
        "kind": intent.kind,
        "theme": intent.theme,
        "direction": intent.direction,
        "severity": intent.severity,
        "window_start": intent.window_start,
        "window_end": intent.window_end,
        "onset": intent.onset,
        "observed": intent.observed,
        "expected": intent.expected,
        "health_flag": intent.health_flag,
        "health_reason": intent.health_reason,
        "explanation": json_safe(dict(intent.explanation)),
        "status": "open",
        "created_at": now,
        "updated_at": now,
    }
    # INSERT ... ON CONFLICT DO NOTHING: a concurrent raiser of the same alert neither duplicates it nor
    # aborts the caller's transaction (a failed plain INSERT would).
    ins = upsert_insert(session, Alert)
    stmt = ins.values(**values).on_conflict_do_nothing(index_elements=["theme", "direction", "window_start"])
    alert_id = session.execute(stmt.returning(Alert.id)).scalar_one_or_none()
    if alert_id is None:
        return None
    session.add(AlertEvent(alert_id=alert_id, action="raised", note=None, actor="detector", at=now))

    all_silences = [*silences, *list_silences(session, active_at=now)]
    muted = active_silence(intent, all_silences, now)
    if muted is not None:
        until = muted.until.isoformat().replace("+00:00", "Z")
        session.add(AlertEvent(alert_id=alert_id, action="silenced", actor=muted.created_by,
                               note=f"silenced until {until}: {muted.reason}", at=now))
        return int(alert_id)
    by_name = {c.name: c for c in channels}
    for name in route(intent, routes, channels, all_silences, now, default_channels=default_channels):
        channel = by_name[name]
        wait = channel.group_wait if channel.group_wait is not None else group_wait
        due = delivery_due(now, channel, wait, open_group_due(session, name, now))
        session.add(Delivery(alert_id=alert_id, channel=name, kind="alert", status="pending", due_at=due,
                             created_at=now, updated_at=now))
    session.flush()
    return int(alert_id)


def _record(a: Alert) -> AlertRecord:
    return AlertRecord(
        id=a.id, kind=a.kind, theme=a.theme, direction=a.direction, severity=a.severity,
        window_start=a.window_start, window_end=a.window_end, onset=a.onset, observed=a.observed,
        expected=a.expected, health_flag=bool(a.health_flag), health_reason=a.health_reason,
        explanation=a.explanation or {}, status=a.status, created_at=a.created_at, updated_at=a.updated_at,
    )


def get_alert(session: Session, alert_id: int) -> AlertRecord:
    """The alert with ``alert_id``; NotFoundError when there is none."""
    a = session.get(Alert, alert_id)
    if a is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    return _record(a)


def alerts_by_id(session: Session, ids: Iterable[int]) -> dict[int, AlertRecord]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {a.id: _record(a) for a in session.scalars(select(Alert).where(Alert.id.in_(wanted)))}


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    theme: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[AlertRecord]:
    """Alerts, newest window first; ``since``/``until`` bound the window start (inclusive/exclusive)."""
    if status is not None and status not in ALERT_STATUSES:
        raise InputError(f"status must be one of {', '.join(ALERT_STATUSES)}, got {status!r}")
    stmt = select(Alert)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    if theme is not None:
        stmt = stmt.where(Alert.theme == theme)
    if since is not None:
        stmt = stmt.where(Alert.window_start >= since)
    if until is not None:
        stmt = stmt.where(Alert.window_start < until)
    stmt = stmt.order_by(Alert.window_start.desc(), Alert.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_record(a) for a in session.scalars(stmt)]


def alert_events(session: Session, alert_id: int) -> list[AlertEventRecord]:
    """The review trail of an alert, oldest first."""
    stmt = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.at, AlertEvent.id)
    return [AlertEventRecord(e.id, e.alert_id, e.action, e.note, e.actor, e.at) for e in session.scalars(stmt)]


def review_alert(
    session: Session, alert_id: int, action: str, *, now: datetime, note: str | None = None, actor: str | None = None
) -> AlertRecord:
    """Apply a review action (ack, confirm, dismiss): set the status and append the event with its note."""
    if action not in REVIEW_STATUS:
        raise InputError(f"review action must be one of {', '.join(REVIEW_STATUS)}, got {action!r}")
    a = session.get(Alert, alert_id, with_for_update=True)
    if a is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    a.status = REVIEW_STATUS[action]
    a.updated_at = now
    session.add(AlertEvent(alert_id=alert_id, action=action, note=note or None, actor=actor, at=now))
    session.flush()
    return _record(a)


def add_event(
    session: Session, alert_id: int, action: str, *, now: datetime, note: str | None = None, actor: str | None = None
) -> None:
    """Append a step to an alert's trail (e.g. 'silenced' when a pending notification is muted)."""
    session.add(AlertEvent(alert_id=alert_id, action=action, note=note, actor=actor, at=now))


def top_articles(session: Session, alert: AlertRecord, limit: int) -> list[ArticleRef]:
    """Articles that show what ``alert`` is about: the explanation's own list, else the window's best hits.

    For a composite alert the member themes (``explanation.members[].theme``) are searched. Syndicated
    copies (one story cluster) are listed once.
    """
    if limit <= 0:
        return []
    given = alert.explanation.get("top_articles") if alert.explanation else None
    if isinstance(given, list) and given:
        return [_article_from_dict(d) for d in given[:limit] if isinstance(d, dict)]
    themes = [alert.theme]
    members = alert.explanation.get("members") if alert.explanation else None
    if isinstance(members, list):
        themes += [m["theme"] for m in members if isinstance(m, dict) and isinstance(m.get("theme"), str)]
    stmt = (
        select(Article, ArticleTheme.score, Source.name)
        .join(ArticleTheme, ArticleTheme.article_id == Article.id)
        .join(Source, Source.id == Article.source_id, isouter=True)
        .where(
            ArticleTheme.theme.in_(themes),
            Article.published_at >= alert.window_start,
            Article.published_at < alert.window_end,
        )
        .order_by(ArticleTheme.score.desc(), Article.published_at.desc(), Article.id)
        .limit(limit * 4)
    )
    out: list[ArticleRef] = []
    seen: set[int] = set()
    for article, score, source in session.execute(stmt):
        key = article.cluster_id if article.cluster_id is not None else article.id  # NULL: its own story
        if key in seen:
            continue
        seen.add(key)
        out.append(ArticleRef(article.title, article.url, article.published_at, source, float(score)))
        if len(out) >= limit:
            break
    return out


def _article_from_dict(d: dict[str, Any]) -> ArticleRef:
    published = d.get("published_at") or d.get("published")
    when: datetime | None = None
    if isinstance(published, str):
        try:
            when = datetime.fromisoformat(published.replace("Z", "+00:00"))
        except ValueError:
            when = None
    score = d.get("score")
    return ArticleRef(
        title=str(d.get("title") or ""),
        url=d.get("url") if isinstance(d.get("url"), str) else None,
        published_at=when if when is not None and when.tzinfo is not None else None,
        source=d.get("source") if isinstance(d.get("source"), str) else None,
        score=float(score) if isinstance(score, (int, float)) else None,
    )


# -- silences -----------------------------------------------------------------------------------------


def add_silence(
    session: Session,
    *,
    theme: str,
    until: datetime,
    reason: str,
    now: datetime,
    direction: str | None = None,
    starts_at: datetime | None = None,
    created_by: str | None = None,
) -> SilenceRecord:
    """Mute ``theme`` (a theme id or shell pattern; optionally one direction) until ``until``."""
    if not theme.strip():
        raise InputError("silence: the theme is empty")
    if direction not in (None, "rise", "fall"):
        raise InputError(f"silence: direction must be rise or fall, got {direction!r}")
    if not reason.strip():
        raise InputError("silence: give a reason")
    if until.tzinfo is None or (starts_at is not None and starts_at.tzinfo is None):
        raise InputError("silence: times must be timezone-aware")
    if until <= (starts_at or now):
        raise InputError(f"silence: until ({until.isoformat()}) must be in the future")
    s = Silence(theme=theme, direction=direction, starts_at=starts_at, until=until, reason=reason,
                created_by=created_by, created_at=now)
    session.add(s)
    session.flush()
    return _silence(s)


def _silence(s: Silence) -> SilenceRecord:
    return SilenceRecord(s.id, s.theme, s.direction, s.starts_at, s.until, s.reason, s.created_by, s.created_at)


def list_silences(session: Session, *, active_at: datetime | None = None) -> list[SilenceRecord]:
    """Stored silences (only those in force at ``active_at`` when given), soonest end first."""
    stmt = select(Silence)
    if active_at is not None:
        stmt = stmt.where(Silence.until > active_at, or_(Silence.starts_at.is_(None), Silence.starts_at <= active_at))
    return [_silence(s) for s in session.scalars(stmt.order_by(Silence.until, Silence.id))]


def delete_silence(session: Session, silence_id: int) -> None:
    """Remove a stored silence (alerts raised from now on are delivered again)."""
    result = session.execute(delete(Silence).where(Silence.id == silence_id))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFoundError(f"silence {silence_id} does not exist")
