"""Alert storage on SQLite and PostgreSQL: raising with outbox rows atomically, once; reading; review; silences."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from alerts_support import T0, intent, webhook
from sqlalchemy import func, select

from pipeline.alerts.raising import raise_intent
from pipeline.errors import InputError, NotFoundError, StorageError
from pipeline.storage.alerts import (
    add_silence,
    alert_events,
    delete_silence,
    get_alert,
    list_alerts,
    list_silences,
    review_alert,
    top_articles,
)
from pipeline.storage.models import Alert, AlertEvent, Article, ArticleTheme, Source
from pipeline.storage.models.deliveries import Delivery


def _count(db, model) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_raise_stores_alert_event_and_one_delivery_per_channel(db, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("a", "http://127.0.0.1:9/"), webhook("b", "http://127.0.0.1:9/")])
    it = intent(title="t")
    alert_id = raise_alert(it, settings)
    assert isinstance(alert_id, int)
    with db.session() as s:
        a = get_alert(s, alert_id)
        events = alert_events(s, alert_id)
        rows = s.scalars(select(Delivery).order_by(Delivery.channel)).all()
    assert (a.theme, a.direction, a.kind, a.severity, a.status) == ("returning_fighters", "rise", "theme", "warning",
                                                                    "open")
    assert a.window_start == it.window_start and a.window_end == it.window_end and a.onset == it.onset
    assert a.observed == pytest.approx(it.observed) and a.explanation["s"] == 5.25
    assert [e.action for e in events] == ["raised"]
    assert [(r.channel, r.status, r.kind, r.due_at) for r in rows] == [("a", "pending", "alert", T0),
                                                                       ("b", "pending", "alert", T0)]


def test_raising_the_same_alert_twice_returns_none_and_adds_nothing(db, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("a", "http://127.0.0.1:9/")])
    assert raise_alert(intent(), settings) is not None
    assert raise_alert(intent(), settings, T0 + timedelta(hours=1)) is None
    assert (_count(db, Alert), _count(db, AlertEvent), _count(db, Delivery)) == (1, 1, 1)
    # Another direction or window is another alert.
    assert raise_alert(intent(direction="fall"), settings) is not None
    assert raise_alert(intent(day=1), settings) is not None


def test_alert_and_deliveries_commit_together_or_not_at_all(db, settings_of):
    settings = settings_of(channels=[webhook("a", "http://127.0.0.1:9/")])
    with pytest.raises(RuntimeError), db.session() as s:
        assert raise_intent(s, intent(), settings, now=T0) is not None
        raise RuntimeError("detection failed after raising")
    assert (_count(db, Alert), _count(db, Delivery)) == (0, 0)


def test_non_finite_explanation_numbers_are_stored_as_null(db, raise_alert, settings_of):
    from dataclasses import replace

    it = replace(intent(), explanation={"z": math.inf, "p": math.nan, "when": T0, "ok": 1.5})
    alert_id = raise_alert(it, settings_of())
    with db.session() as s:
        a = get_alert(s, alert_id)
    assert dict(a.explanation) == {"z": None, "p": None, "when": "2024-05-01T09:00:00Z", "ok": 1.5}


def test_list_filters_and_order(db, raise_alert, settings_of):
    settings = settings_of()
    ids = [raise_alert(intent("t1", day=d), settings) for d in range(3)]
    other = raise_alert(intent("t2", day=1), settings)
    with db.session() as s:
        review_alert(s, ids[0], "dismiss", now=T0)
        assert [a.id for a in list_alerts(s)] == [ids[2], other, ids[1], ids[0]]
        assert [a.id for a in list_alerts(s, status="open", theme="t1")] == [ids[2], ids[1]]
        assert [a.id for a in list_alerts(s, status="dismissed")] == [ids[0]]
        assert [a.id for a in list_alerts(s, since=T0.replace(hour=0) + timedelta(days=1), limit=1)] == [ids[2]]
        with pytest.raises(InputError):
            list_alerts(s, status="closed")


def test_review_actions_append_to_the_trail(db, raise_alert, settings_of):
    alert_id = raise_alert(intent(), settings_of())
    with db.session() as s:
        a = review_alert(s, alert_id, "ack", now=T0 + timedelta(minutes=1), note="looking", actor="ana")
        assert a.status == "acked"
        a = review_alert(s, alert_id, "confirm", now=T0 + timedelta(minutes=2), note="real: trial reports")
        assert a.status == "confirmed" and a.updated_at == T0 + timedelta(minutes=2)
    with db.session() as s:
        trail = [(e.action, e.note, e.actor) for e in alert_events(s, alert_id)]
    assert trail == [("raised", None, "detector"), ("ack", "looking", "ana"), ("confirm", "real: trial reports", None)]
    with pytest.raises(NotFoundError), db.session() as s:
        review_alert(s, 9999, "ack", now=T0)
    with pytest.raises(InputError), db.session() as s:
        review_alert(s, alert_id, "close", now=T0)


def test_silences_crud(db):
    with db.session() as s:
        a = add_silence(s, theme="returning_fighters", until=T0 + timedelta(days=1), reason="trial", now=T0,
                        created_by="ana")
        b = add_silence(s, theme="propaganda_*", direction="fall", until=T0 + timedelta(hours=1), reason="x",
                        now=T0, starts_at=T0 + timedelta(minutes=30))
    with db.session() as s:
        assert [x.id for x in list_silences(s)] == [b.id, a.id]
        assert [x.id for x in list_silences(s, active_at=T0)] == [a.id]
        assert [x.id for x in list_silences(s, active_at=T0 + timedelta(minutes=45))] == [b.id, a.id]
        assert list_silences(s, active_at=T0 + timedelta(days=2)) == []
        delete_silence(s, a.id)
        assert [x.id for x in list_silences(s)] == [b.id]
    with pytest.raises(NotFoundError), db.session() as s:
        delete_silence(s, a.id)
    for kw in ({"until": T0 - timedelta(hours=1)}, {"reason": " "}, {"direction": "up"}, {"theme": ""}):
        args = {"theme": "t", "until": T0 + timedelta(hours=1), "reason": "r", **kw}
        with pytest.raises(InputError), db.session() as s:
            add_silence(s, now=T0, **args)


def test_top_articles_from_the_window_one_per_story(db, raise_alert, settings_of):
    alert_id = raise_alert(intent("returning_fighters"), settings_of())
    day = T0.replace(hour=0)
    with db.session() as s:
        src = Source(name="Wire", url="http://x/feed", created_at=T0)
        s.add(src)
        s.flush()
        rows = [("Copy A", 1, 0.9), ("Copy B", 1, 0.8), ("Other story", 2, 0.7), ("Outside window", 3, 0.99)]
        for i, (title, cluster, score) in enumerate(rows):
            when = day + timedelta(hours=2 + i) if title != "Outside window" else day - timedelta(hours=1)
            art = Article(source_id=src.id, identity=f"id{i}", url=f"http://x/{i}", title=title, text="t",
                          published_at=when, fetched_at=when, updated_at=when, content_hash=f"h{i}",
                          cluster_id=cluster)
            s.add(art)
            s.flush()
            s.add(ArticleTheme(article_id=art.id, theme="returning_fighters", score=score, evidence=[], version="v"))
    with db.session() as s:
        got = top_articles(s, get_alert(s, alert_id), 5)
    assert [(a.title, a.source) for a in got] == [("Copy A", "Wire"), ("Other story", "Wire")]


def test_storage_errors_are_wrapped(db):
    with pytest.raises(StorageError), db.session() as s:
        s.execute(select(func.nonexistent_function()))
