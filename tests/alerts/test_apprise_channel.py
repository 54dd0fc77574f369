"""The Apprise channel, driven through Apprise's own json:// service against a real local receiver."""

from __future__ import annotations

import json
from datetime import timedelta

from alerts_support import T0, intent

from pipeline.alerts.dispatch import dispatch_once


def _apprise(name: str, *urls: str) -> dict[str, object]:
    return {"name": name, "type": "apprise", "urls": list(urls), "timeout": "3s"}


def test_apprise_delivers_the_text_rendering(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[_apprise("chat", f"json://127.0.0.1:{receiver.port}/hook")])
    alert_id = raise_alert(intent(title="Fighters return"), settings)
    summary = dispatch_once(db, settings, now=T0, web_base_url="https://monitor.example")
    assert [a.outcome for a in summary.attempts] == ["sent"]
    (hit,) = receiver.hits
    body = json.loads(hit.body)
    assert "returning_fighters" in body["title"] and "Fighters return" in body["title"]
    assert f"https://monitor.example/alerts/{alert_id}" in body["message"]
    assert "0.0875" in body["message"] and "5.25" in body["message"]


def test_apprise_failure_is_retried_then_delivered(db, down_receiver, raise_alert, settings_of):
    settings = settings_of(channels=[_apprise("chat", f"json://127.0.0.1:{down_receiver.port}/hook")])
    raise_alert(intent(), settings)
    summary = dispatch_once(db, settings, now=T0)
    assert [a.outcome for a in summary.attempts] == ["retry"]
    assert "apprise chat" in (summary.attempts[0].error or "") and "127.0.0.1" in (summary.attempts[0].error or "")
    down_receiver.start()
    summary = dispatch_once(db, settings, now=T0 + timedelta(hours=1))
    assert [a.outcome for a in summary.attempts] == ["sent"]
    assert len(down_receiver.accepted) == 1


def test_apprise_url_it_does_not_understand_is_permanent(db, raise_alert, settings_of):
    settings = settings_of(channels=[_apprise("chat", "nosuchservice://token@x")])
    raise_alert(intent(), settings)
    summary = dispatch_once(db, settings, now=T0)
    assert [a.outcome for a in summary.attempts] == ["dead"]
    assert "urls[0]" in (summary.attempts[0].error or "") and "token" not in (summary.attempts[0].error or "")
