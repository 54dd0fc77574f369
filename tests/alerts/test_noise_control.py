"""Grouping, silences, repeats, digests and routes, measured at a real receiver."""

from __future__ import annotations

import json
from datetime import timedelta

from alerts_support import T0, intent, webhook
from sqlalchemy import select

from pipeline.alerts.dispatch import dispatch_once
from pipeline.storage.alerts import add_silence, alert_events
from pipeline.storage.deliveries import list_deliveries
from pipeline.storage.models.deliveries import Delivery


def _docs(receiver):  # the JSON documents the receiver accepted
    return [json.loads(h.body) for h in receiver.accepted]


def test_alerts_within_group_wait_become_one_notification(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url)], group_wait="5m")
    themes = ["returning_fighters", "propaganda_collapse", "territorial_focus", "composite_phase"]
    ids = [raise_alert(intent(t), settings, T0 + timedelta(minutes=i)) for i, t in enumerate(themes)]
    # Still inside the group's wait: nothing goes out.
    assert dispatch_once(db, settings, now=T0 + timedelta(minutes=4)).attempts == ()
    assert receiver.hits == []
    # An alert raised after the wait opened joins the same group (Alertmanager's group_wait).
    summary = dispatch_once(db, settings, now=T0 + timedelta(minutes=5))
    assert summary.notifications_created == 1 and summary.sent == 1
    (doc,) = _docs(receiver)
    assert doc["count"] == 4 and sorted(a["id"] for a in doc["alerts"]) == sorted(ids)
    # A later alert opens a new group.
    late = raise_alert(intent("returning_fighters", day=1), settings, T0 + timedelta(minutes=20))
    assert dispatch_once(db, settings, now=T0 + timedelta(minutes=24)).attempts == ()
    dispatch_once(db, settings, now=T0 + timedelta(minutes=25))
    assert [[a["id"] for a in d["alerts"]] for d in _docs(receiver)][1] == [late]


def test_group_wait_per_channel_override(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("slow", receiver.url, group_wait="10m"), webhook("fast", receiver.url)],
                           group_wait="0s")
    raise_alert(intent(), settings)
    summary = dispatch_once(db, settings, now=T0)
    assert [a.channel for a in summary.attempts] == ["fast"]
    summary = dispatch_once(db, settings, now=T0 + timedelta(minutes=10))
    assert [a.channel for a in summary.attempts] == ["slow"]


def test_max_group_size_splits_big_groups(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url)], max_group_size=3)
    for day in range(7):
        raise_alert(intent(day=day), settings)
    dispatch_once(db, settings, now=T0)
    assert sorted(d["count"] for d in _docs(receiver)) == [1, 3, 3]


def test_silenced_theme_gets_no_delivery_then_is_delivered_after_the_silence(db, receiver, raise_alert,
                                                                              settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url)])
    with db.session() as s:
        add_silence(s, theme="returning_fighters", until=T0 + timedelta(days=2), reason="known trial", now=T0)
    muted = raise_alert(intent("returning_fighters", day=0), settings, T0 + timedelta(hours=1))
    other_direction_too = raise_alert(intent("returning_fighters", day=0, direction="fall"), settings,
                                      T0 + timedelta(hours=1))
    other = raise_alert(intent("propaganda_collapse", day=0), settings, T0 + timedelta(hours=1))
    with db.session() as s:
        rows = s.scalars(select(Delivery)).all()
        events = alert_events(s, muted)
    assert [r.alert_id for r in rows] == [other], "a silenced theme gets no delivery row"
    assert other_direction_too is not None
    assert [e.action for e in events] == ["raised", "silenced"] and "known trial" in (events[1].note or "")
    dispatch_once(db, settings, now=T0 + timedelta(hours=1))
    assert [[a["theme"] for a in d["alerts"]] for d in _docs(receiver)] == [["propaganda_collapse"]]

    # After the silence ends the theme is delivered again.
    after = T0 + timedelta(days=2, minutes=1)
    again = raise_alert(intent("returning_fighters", day=2), settings, after)
    dispatch_once(db, settings, now=after)
    assert [a["id"] for a in _docs(receiver)[-1]["alerts"]] == [again]


def test_silence_of_one_direction_and_pattern(db, receiver, raise_alert, settings_of):
    settings = settings_of(
        channels=[webhook("ops", receiver.url)],
        silences=[{"theme": "returning_*", "direction": "fall", "until": "2030-01-01T00:00:00Z", "reason": "cfg"}],
    )
    raise_alert(intent("returning_fighters", direction="fall"), settings)
    rise = raise_alert(intent("returning_fighters", direction="rise"), settings)
    with db.session() as s:
        assert [r.alert_id for r in s.scalars(select(Delivery))] == [rise]


def test_silence_added_while_waiting_mutes_the_pending_delivery(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url)], group_wait="10m")
    alert_id = raise_alert(intent(), settings)
    with db.session() as s:
        add_silence(s, theme="returning_fighters", until=T0 + timedelta(days=1), reason="noisy", now=T0)
    summary = dispatch_once(db, settings, now=T0 + timedelta(minutes=10))
    assert summary.silenced == 1 and summary.attempts == () and receiver.hits == []
    with db.session() as s:
        (d,) = list_deliveries(s)
        events = alert_events(s, alert_id)
    assert d.status == "silenced" and events[-1].action == "silenced"


def test_open_alert_is_renotified_after_repeat_interval(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url)], repeat_interval="6h")
    alert_id = raise_alert(intent(), settings)
    dispatch_once(db, settings, now=T0)
    assert dispatch_once(db, settings, now=T0 + timedelta(hours=5)).repeats_scheduled == 0
    summary = dispatch_once(db, settings, now=T0 + timedelta(hours=6, seconds=1))
    assert summary.repeats_scheduled == 1 and summary.sent == 1
    docs = _docs(receiver)
    assert docs[1]["type"] == "repeat" and docs[1]["alerts"][0]["repeat"] is True
    assert docs[1]["alerts"][0]["id"] == alert_id and docs[1]["message_id"] != docs[0]["message_id"]
    # Once reviewed, it is not repeated any more.
    from pipeline.storage.alerts import review_alert

    with db.session() as s:
        review_alert(s, alert_id, "ack", now=T0 + timedelta(hours=7))
    assert dispatch_once(db, settings, now=T0 + timedelta(hours=13)).repeats_scheduled == 0
    assert len(receiver.accepted) == 2


def test_without_repeat_interval_nothing_repeats(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url)])
    raise_alert(intent(), settings)
    dispatch_once(db, settings, now=T0)
    assert dispatch_once(db, settings, now=T0 + timedelta(days=30)).repeats_scheduled == 0
    assert len(receiver.accepted) == 1


def test_digest_channel_gets_one_message_a_day(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("daily", receiver.url, digest=True, digest_at="07:00"),
                                     webhook("live", receiver.url)])
    day1 = T0.replace(hour=0)  # 2024-05-01
    ids = [raise_alert(intent(t), settings, day1 + timedelta(hours=h))
           for t, h in (("returning_fighters", 8), ("propaganda_collapse", 13), ("territorial_focus", 23))]
    next_day = [raise_alert(intent("returning_fighters", day=1), settings, day1 + timedelta(days=1, hours=9))]
    # The live channel got each alert as it came; the digest waits for 07:00 next morning.
    for h in (8, 13, 23):
        dispatch_once(db, settings, now=day1 + timedelta(hours=h))
    assert all(d["channel"] == "live" for d in _docs(receiver))
    dispatch_once(db, settings, now=day1 + timedelta(days=1, hours=7))
    digests = [d for d in _docs(receiver) if d["channel"] == "daily"]
    assert len(digests) == 1 and digests[0]["type"] == "digest"
    assert sorted(a["id"] for a in digests[0]["alerts"]) == sorted(ids)
    dispatch_once(db, settings, now=day1 + timedelta(days=2, hours=7))
    digests = [d for d in _docs(receiver) if d["channel"] == "daily"]
    assert len(digests) == 2 and [a["id"] for a in digests[1]["alerts"]] == next_day


def test_routes_send_by_theme_direction_and_severity(db, receiver, raise_alert, settings_of):
    settings = settings_of(
        channels=[webhook("ops", receiver.url), webhook("chat", receiver.url), webhook("all", receiver.url)],
        routes=[
            {"themes": ["returning_*"], "directions": ["rise"], "channels": ["ops"], "continue": True},
            {"severities": ["critical"], "channels": ["chat"]},
        ],
        default_channels=["all"],
    )
    a = raise_alert(intent("returning_fighters", direction="rise", severity="critical"), settings)
    b = raise_alert(intent("returning_fighters", direction="fall"), settings)
    c = raise_alert(intent("propaganda_collapse", severity="critical"), settings)
    with db.session() as s:
        got = {(d.alert_id, d.channel) for d in s.scalars(select(Delivery))}
    assert got == {(a, "ops"), (a, "chat"), (b, "all"), (c, "chat")}


def test_no_routes_every_channel_gets_every_alert(db, receiver, smtp, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("one", receiver.url), webhook("two", receiver.url),
                                     {"name": "off", "type": "webhook", "url": receiver.url, "enabled": False}])
    alert_id = raise_alert(intent(), settings)
    with db.session() as s:
        got = sorted((d.alert_id, d.channel) for d in s.scalars(select(Delivery)))
    assert got == [(alert_id, "one"), (alert_id, "two")]
