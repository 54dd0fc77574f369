"""The pure decisions (routing, silences, due times, backoff) and the settings schema, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from alerts_support import SECRET, T0, intent
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pipeline.alerts.retry import after_failure, backoff_delay
from pipeline.alerts.routing import active_silence, delivery_due, next_digest, repeat_due, route
from pipeline.alerts.settings import AlertSettings
from pipeline.alerts.values import AlertIntent, SilenceRecord
from pipeline.errors import InputError


def _settings(**kw: object) -> AlertSettings:
    return AlertSettings.model_validate(kw)


CHANNELS = [{"name": n, "type": "webhook", "url": "http://127.0.0.1:9/x"} for n in ("a", "b", "c")]


def test_no_routes_means_every_enabled_channel():
    s = _settings(channels=[*CHANNELS, {"name": "off", "type": "webhook", "url": "http://x/", "enabled": False}])
    assert route(intent(), s.routes, s.channels, [], T0) == ["a", "b", "c"]


def test_first_matching_route_wins_unless_continue():
    s = _settings(channels=CHANNELS, routes=[
        {"themes": ["returning_*"], "channels": ["a"]},
        {"directions": ["rise"], "channels": ["b"]},
    ])
    assert route(intent("returning_fighters"), s.routes, s.channels, [], T0) == ["a"]
    assert route(intent("propaganda_collapse"), s.routes, s.channels, [], T0) == ["b"]
    s2 = _settings(channels=CHANNELS, routes=[
        {"themes": ["returning_*"], "channels": ["a"], "continue": True},
        {"directions": ["rise"], "channels": ["b"]},
    ])
    assert route(intent("returning_fighters"), s2.routes, s2.channels, [], T0) == ["a", "b"]


def test_unmatched_alert_goes_to_default_channels():
    routes = [{"severities": ["critical"], "channels": ["a"]}]
    every = _settings(channels=CHANNELS, routes=routes)
    assert route(intent(), every.routes, every.channels, [], T0) == ["a", "b", "c"]
    some = _settings(channels=CHANNELS, routes=routes, default_channels=["c"])
    assert route(intent(), some.routes, some.channels, [], T0, default_channels=some.default_channels) == ["c"]
    none = _settings(channels=CHANNELS, routes=routes, default_channels=[])
    assert route(intent(), none.routes, none.channels, [], T0, default_channels=[]) == []


def test_kind_filter():
    s = _settings(channels=CHANNELS, routes=[{"kinds": ["composite"], "channels": ["c"]}], default_channels=[])
    assert route(intent(kind="composite"), s.routes, s.channels, [], T0, default_channels=[]) == ["c"]
    assert route(intent(kind="sparse"), s.routes, s.channels, [], T0, default_channels=[]) == []


def test_silence_window_theme_pattern_and_direction():
    sil = SilenceRecord(1, "returning_*", "rise", T0, T0 + timedelta(hours=1), "known")
    assert active_silence(intent("returning_fighters"), [sil], T0) is sil
    assert active_silence(intent("returning_fighters"), [sil], T0 - timedelta(seconds=1)) is None  # not begun
    assert active_silence(intent("returning_fighters"), [sil], T0 + timedelta(hours=1)) is None  # ended
    assert active_silence(intent("returning_fighters", direction="fall"), [sil], T0) is None
    assert active_silence(intent("propaganda_collapse"), [sil], T0) is None
    s = _settings(channels=CHANNELS)
    assert route(intent("returning_fighters"), s.routes, s.channels, [sil], T0) == []


def test_due_times():
    s = _settings(channels=[*CHANNELS, {"name": "d", "type": "webhook", "url": "http://x/", "digest": True,
                                        "digest_at": "07:30"}])
    a, d = s.channels[0], s.channels[3]
    assert delivery_due(T0, a, timedelta(minutes=5), None) == T0 + timedelta(minutes=5)
    assert delivery_due(T0, a, timedelta(minutes=5), T0 + timedelta(minutes=2)) == T0 + timedelta(minutes=2)
    assert delivery_due(T0, a, timedelta(minutes=5), T0 - timedelta(minutes=2)) == T0 + timedelta(minutes=5)
    assert delivery_due(T0, d, timedelta(0), None) == datetime(2024, 5, 2, 7, 30, tzinfo=UTC)  # T0 is 09:00
    assert next_digest(datetime(2024, 5, 1, 7, 0, tzinfo=UTC), d) == datetime(2024, 5, 1, 7, 30, tzinfo=UTC)
    assert next_digest(datetime(2024, 5, 1, 7, 30, tzinfo=UTC), d) == datetime(2024, 5, 2, 7, 30, tzinfo=UTC)
    assert repeat_due(T0, timedelta(hours=4), T0 + timedelta(hours=4))
    assert not repeat_due(T0, timedelta(hours=4), T0 + timedelta(hours=3))
    assert not repeat_due(T0, None, T0 + timedelta(days=300))


@given(attempt=st.integers(1, 200), rand=st.floats(0, 1, exclude_max=True))
def test_backoff_is_bounded_exponential_with_jitter(attempt, rand):
    initial, cap = timedelta(seconds=30), timedelta(hours=1)
    d = backoff_delay(attempt, initial, cap, rand).total_seconds()
    full = min(3600.0, 30.0 * 2 ** (attempt - 1))
    assert full / 2 <= d <= full


@given(age=st.integers(0, 48 * 3600), attempt=st.integers(1, 50), retry_after=st.none() | st.floats(0, 1e6),
       rand=st.floats(0, 1, exclude_max=True))
def test_retry_never_beyond_max_age(age, attempt, retry_after, rand):
    now = T0 + timedelta(seconds=age)
    d = after_failure(error="boom", permanent=False, retry_after=retry_after, attempt=attempt, created_at=T0,
                      now=now, initial=timedelta(seconds=30), maximum=timedelta(hours=1),
                      max_age=timedelta(hours=24), rand=rand)
    if age >= 24 * 3600:
        assert d.outcome == "dead" and "gave up after" in d.reason and "boom" in d.reason
    else:
        assert d.outcome == "retry" and d.next_attempt_at is not None
        assert now < d.next_attempt_at <= T0 + timedelta(hours=24)
        if retry_after:
            assert d.next_attempt_at >= min(now + timedelta(seconds=retry_after), T0 + timedelta(hours=24))


def test_permanent_failure_is_dead_at_once():
    d = after_failure(error="HTTP 404", permanent=True, retry_after=None, attempt=1, created_at=T0, now=T0,
                      initial=timedelta(seconds=30), maximum=timedelta(hours=1), max_age=timedelta(hours=24), rand=0)
    assert d.outcome == "dead" and d.next_attempt_at is None and "permanent" in d.reason and "404" in d.reason


def test_settings_schema_accepts_the_documented_example():
    s = _settings(
        channels=[
            {"name": "ops-webhook", "type": "webhook", "url": "https://hooks.example.org/x", "secret": SECRET},
            {"name": "analysts", "type": "email", "smtp_host": "localhost", "smtp_port": 25, "starttls": False,
             "sender": "monitor@example.org", "to": ["analyst@example.org"]},
            {"name": "chat", "type": "apprise", "urls": ["json://127.0.0.1/x"]},
        ],
        routes=[{"themes": ["returning_*"], "channels": ["ops-webhook"], "continue": True}],
        group_wait="30s", repeat_interval="4h", max_age="1d", retry_initial=15, lease="PT10M",
        silences=[{"theme": "x", "until": "2030-01-01T00:00:00Z", "reason": "r"}],
    )
    assert s.group_wait == timedelta(seconds=30) and s.repeat_interval == timedelta(hours=4)
    assert s.max_age == timedelta(days=1) and s.retry_initial == timedelta(seconds=15)
    assert s.lease == timedelta(minutes=10) and s.routes[0].continue_ is True
    assert s.channels[0].digest_at == time(0, 0)
    assert AlertSettings().channels == [] and AlertSettings().max_age == timedelta(hours=24)


@pytest.mark.parametrize("bad, where", [
    ({"channels": [{"name": "a", "type": "webhook", "url": "ftp://x"}]}, "http"),
    ({"channels": [{"name": "a", "type": "webhook", "url": "http://x/", "secret": "whsec_!!"}]}, "base64"),
    ({"channels": [{"name": "a", "type": "webhook", "url": "http://x/", "secret": "whsec_YWJj"}]}, "16 bytes"),
    ({"channels": [{"name": "a", "type": "sms"}]}, "type"),
    ({"channels": [*CHANNELS, CHANNELS[0]]}, "used twice"),
    ({"channels": CHANNELS, "routes": [{"channels": ["zz"]}]}, "unknown channel zz"),
    ({"channels": CHANNELS, "default_channels": ["zz"]}, "unknown channel zz"),
    ({"channels": [{"name": "m", "type": "email", "sender": "a@b.c", "to": ["x@y.z\r\nBcc: e@v.il"]}]}, "line"),
    ({"channels": [{"name": "m", "type": "email", "sender": "a@b.c", "to": ["x@y.z"], "tls": True,
                    "starttls": True}]}, "not both"),
    ({"channels": [{"name": "a", "type": "webhook", "url": "http://x/", "timeout": "10m"}], "lease": "5m"},
     "lease"),
    ({"group_wait": "-5s"}, "negative"),
    ({"max_age": "soon"}, "max_age"),
    ({"silences": [{"theme": "x", "until": "2030-01-01T00:00:00", "reason": "r"}]}, "time zone"),
    ({"chanels": []}, "chanels"),
])
def test_settings_schema_rejects(bad, where):
    with pytest.raises(ValidationError) as err:
        AlertSettings.model_validate(bad)
    assert where in str(err.value)


def test_intent_validates_its_values():
    with pytest.raises(InputError, match="timezone-aware"):
        AlertIntent(kind="theme", theme="t", direction="rise", severity="w", window_start=datetime(2024, 1, 1),
                    window_end=datetime(2024, 1, 2), onset=None, observed=1, expected=1)
    with pytest.raises(InputError, match="direction"):
        AlertIntent(kind="theme", theme="t", direction="up", severity="w", window_start=T0,  # type: ignore[arg-type]
                    window_end=T0 + timedelta(days=1), onset=None, observed=1, expected=1)
