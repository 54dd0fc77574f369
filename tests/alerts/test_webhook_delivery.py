"""Webhook delivery through the outbox: retries until it arrives once, permanent failures, signatures, payload."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from alerts_support import HANG, SECRET, T0, Receiver, intent, webhook
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pipeline.alerts.dispatch import dispatch_once
from pipeline.alerts.payload import SCHEMA, SCHEMA_VERSION
from pipeline.storage.db import Database
from pipeline.storage.deliveries import list_deliveries, notification_attempts
from pipeline.storage.models.deliveries import Notification


def _state(db: Database) -> Notification:
    with db.session() as s:
        rows = list(s.scalars(select(Notification)))
    assert len(rows) == 1
    return rows[0]


def test_down_then_500s_then_200_arrives_once_with_attempts_recorded(db, down_receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", down_receiver.url)])
    alert_id = raise_alert(intent(), settings)
    assert alert_id is not None
    rng = random.Random(7)

    # 1: nothing listens on the port.
    now = T0 + timedelta(seconds=1)
    summary = dispatch_once(db, settings, now=now, rng=rng, web_base_url="https://monitor.example")
    assert [a.outcome for a in summary.attempts] == ["retry"]
    assert "ConnectError" in (summary.attempts[0].error or "")
    n = _state(db)
    assert n.status == "pending" and n.attempts == 1 and n.next_attempt_at > now

    # Before the backoff has passed, nothing is tried.
    assert dispatch_once(db, settings, now=now + timedelta(seconds=1), rng=rng).attempts == ()

    # 2-4: the receiver is up but answers 500 three times; 5: it answers 200.
    down_receiver.plan.extend([500, 500, 500])
    down_receiver.start()
    outcomes = []
    for _ in range(4):
        now = _state(db).next_attempt_at
        outcomes += [a.outcome for a in dispatch_once(db, settings, now=now, rng=rng).attempts]
    assert outcomes == ["retry", "retry", "retry", "sent"]

    # The receiver read four requests, all of one message: dropping duplicates by webhook-id, it got one alert.
    assert [h.status for h in down_receiver.hits] == [500, 500, 500, 200]
    ids = {h.headers["webhook-id"] for h in down_receiver.hits}
    assert len(ids) == 1
    assert len(down_receiver.accepted) == 1
    bodies = {h.body for h in down_receiver.hits}
    assert len(bodies) == 1, "every retry sends the same bytes"
    doc = Webhook(SECRET).verify(down_receiver.accepted[0].body, down_receiver.accepted[0].headers)
    assert [a["id"] for a in doc["alerts"]] == [alert_id]

    # Attempts are recorded, each with its outcome and error; the delivery is sent.
    n = _state(db)
    assert n.status == "sent" and n.attempts == 5 and n.message_id in ids
    with db.session() as s:
        log = notification_attempts(s, n.id)
        (delivery,) = list_deliveries(s)
    assert [a.outcome for a in log] == ["retry", "retry", "retry", "retry", "sent"]
    assert "HTTP 500" in (log[1].error or "")
    assert all(a.finished_at is not None for a in log)
    assert delivery.status == "sent" and delivery.attempts == 5 and delivery.sent_at is not None

    # Nothing more is sent later.
    assert dispatch_once(db, settings, now=now + timedelta(days=1)).attempts == ()
    assert len(down_receiver.hits) == 4


def test_backoff_grows_and_gives_up_after_max_age(db, receiver, raise_alert, settings_of):
    receiver.default = 503
    settings = settings_of(channels=[webhook("ops", receiver.url)], max_age="2h", retry_initial="60s",
                           retry_max="30m")
    raise_alert(intent(), settings)
    now = T0
    gaps = []
    for _ in range(40):
        summary = dispatch_once(db, settings, now=now, rng=random.Random(1))
        if summary.attempts and summary.attempts[0].outcome == "dead":
            break
        nxt = _state(db).next_attempt_at
        gaps.append((nxt - now).total_seconds())
        now = nxt
    n = _state(db)
    assert n.status == "dead"
    assert "gave up after" in (n.last_error or "") and "HTTP 503" in (n.last_error or "")
    assert now - n.created_at >= timedelta(hours=2)
    assert now - n.created_at < timedelta(hours=2, minutes=1), "the last try is at the deadline, not after"
    # Exponential with jitter: each delay between half and all of min(30 min, 60 s * 2^k).
    for k, gap in enumerate(gaps[:5]):
        cap = min(1800.0, 60.0 * 2**k)
        assert cap / 2 <= gap <= cap + 1e-6
    assert max(gaps) <= 1800 + 1e-6
    with db.session() as s:
        (d,) = list_deliveries(s, status="dead")
    assert d.last_error == n.last_error and d.next_attempt_at is None


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_permanent_4xx_stops_at_once_and_says_why(db, receiver, raise_alert, settings_of, status):
    receiver.default = status
    settings = settings_of(channels=[webhook("ops", receiver.url)])
    raise_alert(intent(), settings)
    summary = dispatch_once(db, settings, now=T0)
    assert [a.outcome for a in summary.attempts] == ["dead"]
    n = _state(db)
    assert n.status == "dead" and n.attempts == 1
    assert f"HTTP {status}" in (n.last_error or "") and "permanent" in (n.last_error or "")
    assert dispatch_once(db, settings, now=T0 + timedelta(hours=1)).attempts == ()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_transient_statuses_are_retried(db, receiver, raise_alert, settings_of, status):
    receiver.plan.append(status)
    settings = settings_of(channels=[webhook("ops", receiver.url)])
    raise_alert(intent(), settings)
    assert [a.outcome for a in dispatch_once(db, settings, now=T0).attempts] == ["retry"]
    assert [a.outcome for a in dispatch_once(db, settings, now=T0 + timedelta(hours=1)).attempts] == ["sent"]


def test_retry_after_is_honoured(db, receiver, raise_alert, settings_of):
    receiver.plan.append(429)
    receiver.reply_headers = {"Retry-After": "7200"}
    settings = settings_of(channels=[webhook("ops", receiver.url)], retry_initial="10s", max_age="24h")
    raise_alert(intent(), settings)
    dispatch_once(db, settings, now=T0)
    n = _state(db)
    assert n.next_attempt_at >= T0 + timedelta(seconds=7200)
    assert dispatch_once(db, settings, now=T0 + timedelta(seconds=3600)).attempts == ()


def test_signature_verifies_and_payload_follows_the_schema(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url)])
    alert_id = raise_alert(intent(title="Returnees: «Rückkehrer» détenus"), settings)
    dispatch_once(db, settings, now=T0, web_base_url="https://monitor.example/")
    (hit,) = receiver.hits
    doc = Webhook(SECRET).verify(hit.body, hit.headers)
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["webhook-signature"].startswith("v1,")
    assert doc == json.loads(hit.body)
    assert doc["schema"] == SCHEMA and doc["schema_version"] == SCHEMA_VERSION
    assert doc["message_id"] == hit.headers["webhook-id"] and doc["type"] == "alerts" and doc["count"] == 1
    (a,) = doc["alerts"]
    assert a["id"] == alert_id and a["url"] == f"https://monitor.example/alerts/{alert_id}"
    assert a["theme"] == "returning_fighters" and a["direction"] == "rise"
    assert a["window"] == {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00Z"}
    assert a["onset"] == "2024-04-30T00:00:00Z"
    assert a["observed"] == pytest.approx(14 / 160) and a["expected"] == pytest.approx(0.021)
    assert a["explanation"]["s"] == 5.25 and a["explanation"]["x"] == 14
    assert a["top_articles"][0]["title"] == "Returnees: «Rückkehrer» détenus"
    assert a["health"] == {"flag": False, "reason": None}

    # A tampered body or a wrong secret does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(hit.body.replace(b"rise", b"fall"), hit.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(hit.body, hit.headers)


def test_unsigned_channel_still_sends_ids(db, receiver, raise_alert, settings_of):
    ch = webhook("ops", receiver.url)
    del ch["secret"]
    settings = settings_of(channels=[ch])
    raise_alert(intent(), settings)
    dispatch_once(db, settings, now=T0)
    (hit,) = receiver.hits
    assert hit.headers["webhook-id"].startswith("msg_") and "webhook-signature" not in hit.headers


def test_hanging_receiver_times_out_and_is_retried(db, raise_alert, settings_of):
    r = Receiver().start()
    try:
        r.plan.append(HANG)
        settings = settings_of(channels=[webhook("ops", r.url, timeout="1s")])
        raise_alert(intent(), settings)
        summary = dispatch_once(db, settings, now=T0)
        assert [a.outcome for a in summary.attempts] == ["retry"]
        assert "timed out after 1 s" in (summary.attempts[0].error or "")
        assert [a.outcome for a in dispatch_once(db, settings, now=T0 + timedelta(hours=1)).attempts] == ["sent"]
        assert len({h.headers["webhook-id"] for h in r.hits}) == 1
    finally:
        r.stop()


def test_channel_removed_from_config_marks_its_deliveries_dead(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url), webhook("old", receiver.url)])
    raise_alert(intent(), settings)
    summary = dispatch_once(db, settings_of(channels=[webhook("ops", receiver.url)]), now=T0)
    assert summary.orphaned == 1 and summary.sent == 1
    with db.session() as s:
        (dead,) = list_deliveries(s, status="dead")
    assert dead.channel == "old" and "no longer configured" in (dead.last_error or "")
