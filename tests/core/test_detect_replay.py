"""Detection end to end: import a stream, run ``pipeline detect`` as the service would, list the alerts.

The seed report's situation: territorial focus is common in the baseline and the other two themes rare;
then coverage shifts as in the seed report (territory lost, propaganda collapsed, fighters returning).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from pipeline.cli import main  # noqa: E402
from tests.support.synthetic import day_stream  # noqa: E402

START = date(2026, 1, 1)
BASE_DAYS = 42
SHIFT_DAYS = 10


def write_stream(path: Path) -> None:
    rng = random.Random(7)
    with path.open("w") as fh:
        for d in range(BASE_DAYS + SHIFT_DAYS):
            day = START + timedelta(days=d)
            if d < BASE_DAYS:
                hits = {"territorial_focus": rng.randint(7, 10), "returning_fighters": rng.randint(0, 1),
                        "propaganda_collapse": int(rng.random() < 0.3)}
                seed = 0
            else:
                hits = {"territorial_focus": rng.randint(0, 2), "returning_fighters": rng.randint(5, 7),
                        "propaganda_collapse": rng.randint(4, 6)}
                seed = 1
            for art in day_stream(day, rng, total=40, hits=hits, seed_like=seed):
                fh.write(json.dumps(art) + "\n")


@pytest.fixture
def cfg(tmp_path: Path, db_url: str) -> Path:
    root = Path(__file__).resolve().parents[2]
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: {db_url}\nsources: []\nthemes: {root / 'seeds' / 'themes.yaml'}\n")
    return p


def run(cfg: Path, *args: str) -> int:
    return main(["--config", str(cfg), *args])


def test_seed_situation_raises_rise_fall_and_phase_change(cfg: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    stream = tmp_path / "stream.jsonl"
    write_stream(stream)
    assert run(cfg, "db", "upgrade") == 0
    assert run(cfg, "import", str(stream)) == 0
    capsys.readouterr()
    last = START + timedelta(days=BASE_DAYS + SHIFT_DAYS - 1)
    assert run(cfg, "detect", "--from", START.isoformat(), "--to", last.isoformat(), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert run(cfg, "alerts", "list", "--json") == 0
    alerts = json.loads(capsys.readouterr().out)
    got = {(a["theme"], a["direction"]) for a in alerts}
    assert ("returning_fighters", "rise") in got, alerts
    assert ("propaganda_collapse", "rise") in got, alerts
    assert ("territorial_focus", "fall") in got, alerts
    assert ("new_phase", "rise") in got, alerts
    shift_start = (START + timedelta(days=BASE_DAYS)).isoformat()
    for a in alerts:
        for key in ("id", "theme", "direction", "window_start", "window_end", "observed", "expected", "status"):
            assert key in a
        # No alert before the shift: the baseline period is quiet.
        assert a["window_start"][:10] >= shift_start, a
    first: dict[tuple[str, str], dict] = {}
    for a in sorted(alerts, key=lambda a: a["window_start"]):
        first.setdefault((a["theme"], a["direction"]), a)
    for key, a in first.items():
        # Each shift is flagged within a few windows of its start.
        assert a["window_start"][:10] <= (START + timedelta(days=BASE_DAYS + 3)).isoformat(), (key, a)
    by_key = first
    # A sustained shift is one episode: one alert per theme and direction, not one every few windows.
    assert len(alerts) == len(first), sorted((a["theme"], a["direction"], a["window_start"]) for a in alerts)
    exp = by_key[("returning_fighters", "rise")]["explanation"]
    for key in ("onset", "ratio", "ratio_interval", "baseline_proportion", "baseline_interval", "window_interval",
                "phi", "s", "h", "p_value", "false_alarm_rate", "raw_x", "sources", "top_articles"):
        assert key in exp, key
    assert exp["top_articles"] and exp["top_articles"][0]["evidence"]
    assert len(result["alerts"]) == len(alerts)

    # Running detect again over the same period raises nothing new.
    assert run(cfg, "detect", "--from", START.isoformat(), "--to", last.isoformat(), "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert not any(a["new"] for a in again["alerts"])
    assert run(cfg, "alerts", "list", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == len(alerts)


def test_dry_run_stores_nothing(cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = tmp_path / "stream.jsonl"
    write_stream(stream)
    run(cfg, "db", "upgrade")
    run(cfg, "import", str(stream))
    capsys.readouterr()
    last = START + timedelta(days=BASE_DAYS + SHIFT_DAYS - 1)
    assert run(cfg, "detect", "--from", START.isoformat(), "--to", last.isoformat(), "--dry-run", "--json") == 0
    assert json.loads(capsys.readouterr().out)["alerts"]
    run(cfg, "alerts", "list", "--json")
    assert json.loads(capsys.readouterr().out) == []


def test_live_service_and_detect_command_agree(tmp_path: Path, db_url: str) -> None:
    """The service, stepping day by day as time passes, raises the same alerts as one `detect` run."""
    from datetime import UTC, datetime, time

    from pipeline.config import build_matcher, load_config
    from pipeline.service.detect import detect_due, detect_period
    from pipeline.storage.db import Database
    from pipeline.storage.migrate import upgrade

    stream = tmp_path / "stream.jsonl"
    write_stream(stream)
    root = Path(__file__).resolve().parents[2]
    results = []
    for name in ("live", "batch"):
        url = db_url if name == "live" else f"sqlite:///{tmp_path / 'batch.db'}"
        cfg_path = tmp_path / f"{name}.yaml"
        cfg_path.write_text(f"database:\n  url: {url}\nsources: []\nthemes: {root / 'seeds' / 'themes.yaml'}\n")
        cfg = load_config(cfg_path)
        db = Database(cfg.database.url)
        upgrade(db)
        from pipeline.backfill import import_lines

        with stream.open() as fh:
            import_lines(cfg, db, build_matcher(cfg), fh, origin="stream")
        days = BASE_DAYS + SHIFT_DAYS
        if name == "live":
            raised = []
            for d in range(1, days + 1):
                day = START + timedelta(days=d)
                # Half an hour after midnight the day before is not settled yet; at 03:00 it is.
                early = detect_due(cfg, db, now=datetime.combine(day, time(0, 30), tzinfo=UTC))
                assert early.alerts == [] or all(a["window_start"][:10] < (day - timedelta(days=1)).isoformat()
                                                 for a in early.alerts)
                raised += detect_due(cfg, db, now=datetime.combine(day, time(3), tzinfo=UTC)).alerts
                raised += early.alerts
        else:
            first = datetime.combine(START, time(0), tzinfo=UTC)
            end = first + timedelta(days=days)
            raised = detect_period(cfg, db, first=first, end=end, now=end + timedelta(days=1)).alerts
        results.append(sorted((a["theme"], a["direction"], a["window_start"]) for a in raised if a["new"]))
        db.dispose()
    live, batch = results
    assert live == batch
    assert any(t == "new_phase" for t, _, _ in live)


def test_a_failed_detection_run_loses_no_alert(cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Decisions and alerts commit together: a run that fails part-way is redone by the next (found in review)."""
    from datetime import UTC, datetime, time

    import pipeline.service.detect as detect
    from pipeline.config import load_config
    from pipeline.errors import StorageError
    from pipeline.storage.db import Database

    stream = tmp_path / "stream.jsonl"
    write_stream(stream)
    assert run(cfg, "db", "upgrade") == 0
    assert run(cfg, "import", str(stream)) == 0
    config = load_config(cfg)
    db = Database(config.database.url)
    now = datetime.combine(START + timedelta(days=BASE_DAYS + SHIFT_DAYS + 1), time(3), tzinfo=UTC)
    real = detect.raise_intent
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise StorageError("database error: connection lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(detect, "raise_intent", flaky)
    with pytest.raises(StorageError):
        detect.detect_due(config, db, now=now)
    monkeypatch.setattr(detect, "raise_intent", real)
    detect.detect_due(config, db, now=now)
    db.dispose()
    capsys.readouterr()
    assert run(cfg, "alerts", "list", "--json") == 0
    got = {(a["theme"], a["direction"]) for a in json.loads(capsys.readouterr().out)}
    assert {("returning_fighters", "rise"), ("propaganda_collapse", "rise"), ("territorial_focus", "fall"),
            ("new_phase", "rise")} <= got


def test_alerts_for_long_past_windows_are_stored_but_notify_nobody(tmp_path: Path, db_url: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A backfill or a first start over imported history must not flood the channels (found in review)."""
    root = Path(__file__).resolve().parents[2]
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database:\n  url: {db_url}\nsources: []\nthemes: {root / 'seeds' / 'themes.yaml'}\n"
                   "alerts:\n  channels:\n    - {name: hook, type: webhook, url: 'http://127.0.0.1:9/hook'}\n")
    stream = tmp_path / "stream.jsonl"
    write_stream(stream)
    assert run(cfg, "db", "upgrade") == 0
    assert run(cfg, "import", str(stream)) == 0
    last = START + timedelta(days=BASE_DAYS + SHIFT_DAYS - 1)
    assert run(cfg, "detect", "--from", START.isoformat(), "--to", last.isoformat()) == 0  # months ago
    capsys.readouterr()
    assert run(cfg, "alerts", "list", "--json") == 0
    alerts = json.loads(capsys.readouterr().out)
    assert alerts and all(a["explanation"].get("backfill") for a in alerts)
    assert run(cfg, "deliveries", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_recent_alerts_are_routed_to_the_channels(tmp_path: Path, db_url: str) -> None:
    from datetime import UTC, datetime, time

    from pipeline.backfill import import_lines
    from pipeline.config import build_matcher, load_config
    from pipeline.service.detect import detect_due
    from pipeline.storage.db import Database
    from pipeline.storage.deliveries import list_deliveries
    from pipeline.storage.migrate import upgrade

    root = Path(__file__).resolve().parents[2]
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: {db_url}\nsources: []\nthemes: {root / 'seeds' / 'themes.yaml'}\n"
                 "alerts:\n  channels:\n    - {name: hook, type: webhook, url: 'http://127.0.0.1:9/hook'}\n")
    cfg = load_config(p)
    db = Database(cfg.database.url)
    upgrade(db)
    stream = tmp_path / "stream.jsonl"
    write_stream(stream)
    with stream.open() as fh:
        import_lines(cfg, db, build_matcher(cfg), fh, origin="stream")
    for d in range(1, BASE_DAYS + SHIFT_DAYS + 1):  # the service running day by day, as time passes
        detect_due(cfg, db, now=datetime.combine(START + timedelta(days=d), time(3), tzinfo=UTC))
    with db.session() as s:
        routed = list_deliveries(s)
    db.dispose()
    assert routed, "alerts raised in their own time must reach the channels"


def test_provisional_look_at_the_open_window_stores_nothing(cfg: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime, time

    from pipeline.config import load_config
    from pipeline.service.detect import detect_due, detect_provisional
    from pipeline.storage.db import Database
    from pipeline.storage.signals import last_signal_window

    stream = tmp_path / "stream.jsonl"
    write_stream(stream)
    run(cfg, "db", "upgrade")
    run(cfg, "import", str(stream))
    config = load_config(cfg)
    db = Database(config.database.url)
    today = START + timedelta(days=BASE_DAYS + 2)
    now = datetime.combine(today, time(12), tzinfo=UTC)  # mid-day: today's window is open
    detect_due(config, db, now=now)
    with db.session() as s:
        settled = last_signal_window(s, "returning_fighters")
    look = detect_provisional(config, db, now=now)
    with db.session() as s:
        assert last_signal_window(s, "returning_fighters").window_start == settled.window_start  # nothing stored
    db.dispose()
    open_window = datetime.combine(today, time(0), tzinfo=UTC).isoformat()
    assert {(d["theme"], d["direction"]) for d in look.latest if d["window_start"] == open_window} == {
        (t, d) for t in ("returning_fighters", "propaganda_collapse", "territorial_focus") for d in ("rise", "fall")}
    assert all(a.get("id") is None for a in look.alerts)
    capsys.readouterr()
    assert run(cfg, "detect", "--provisional", "--json") == 0
    assert "latest" in json.loads(capsys.readouterr().out)
