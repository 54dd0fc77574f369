"""The alert and delivery commands, run through pipeline.cli.main with a temporary config file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from alerts_support import SECRET, intent, stamp_head, webhook
from standardwebhooks.webhooks import Webhook

from pipeline.cli import main
from pipeline.storage.db import Database

ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def cli(db: Database, receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run a command against a config whose one webhook channel is the receiver; returns (code, stdout)."""
    stamp_head(db)
    alerts = {"channels": [webhook("ops", receiver.url)]}
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": {"url": db.url}, "sources": [], "alerts": alerts,
        "web": {"base_url": "https://monitor.example"},
    }))
    monkeypatch.delenv("PIPELINE_DATABASE_URL", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(cfg), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    run.settings = alerts  # type: ignore[attr-defined]
    return run


def _raise(db: Database, *its, channels=None, now=None) -> list[int]:
    from pipeline.alerts.raising import raise_intent
    from pipeline.alerts.settings import AlertSettings

    settings = AlertSettings.model_validate({"channels": channels or []})
    with db.session() as s:
        return [raise_intent(s, it, settings, now=now or datetime.now(UTC)) for it in its]  # type: ignore[misc]


def test_dispatch_once_delivers_and_deliveries_list_shows_it(db, receiver, cli):
    (alert_id,) = _raise(db, intent(), channels=cli.settings["channels"])
    code, out, err = cli("dispatch", "--once", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["sent"] == 1 and summary["attempts"][0]["alert_ids"] == [alert_id]
    (hit,) = receiver.hits
    doc = Webhook(SECRET).verify(hit.body, hit.headers)
    assert doc["alerts"][0]["url"] == f"https://monitor.example/alerts/{alert_id}"

    code, out, _ = cli("deliveries", "list", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["alert_id"] == alert_id and row["channel"] == "ops" and row["status"] == "sent"
    assert row["attempts"] == 1 and row["message_id"] == hit.headers["webhook-id"]
    datetime.strptime(row["sent_at"][:19] + "Z", ISO_Z)
    assert row["sent_at"].endswith("Z")
    code, out, _ = cli("deliveries", "list", "--status", "dead", "--json")
    assert json.loads(out) == []

    # A second run has nothing left to do.
    code, out, _ = cli("dispatch", "--once")
    assert code == 0 and "0 sent" in out and len(receiver.hits) == 1


def test_dispatch_once_records_a_failure_and_exits_zero(db, receiver, cli):
    receiver.default = 503
    _raise(db, intent(), channels=cli.settings["channels"])
    code, out, _ = cli("dispatch", "--once")
    assert code == 0 and "1 to retry" in out and "HTTP 503" in out
    code, out, _ = cli("deliveries", "list", "--status", "pending", "--json")
    (row,) = json.loads(out)
    assert row["attempts"] == 1 and "HTTP 503" in row["last_error"] and row["next_attempt_at"].endswith("Z")


def test_alerts_list_json_has_the_contract_fields(db, cli):
    ids = _raise(db, intent("returning_fighters"), intent("territorial_focus", direction="fall"))
    code, out, _ = cli("alerts", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert isinstance(rows, list) and sorted(r["id"] for r in rows) == sorted(ids)
    for r in rows:
        for key in ("id", "theme", "direction", "window_start", "window_end", "observed", "expected", "status",
                    "onset", "kind", "severity", "health_flag", "health_reason", "explanation"):
            assert key in r, key
        assert r["status"] == "open" and r["direction"] in ("rise", "fall")
        for key in ("window_start", "window_end", "onset"):
            assert r[key].endswith("Z")
            datetime.fromisoformat(r[key].replace("Z", "+00:00"))
    fall = next(r for r in rows if r["theme"] == "territorial_focus")
    assert fall["direction"] == "fall" and fall["window_start"] == "2024-05-01T00:00:00Z"
    assert fall["window_end"] == "2024-05-02T00:00:00Z" and fall["expected"] == 0.021
    assert fall["explanation"]["s"] == 5.25


def test_ack_with_note_then_show_and_filter(db, cli):
    (alert_id,) = _raise(db, intent())
    code, out, _ = cli("alerts", "ack", str(alert_id), "--note", "seen; checking sources", "--actor", "ana")
    assert code == 0 and "acked" in out
    code, out, _ = cli("alerts", "show", str(alert_id), "--json")
    shown = json.loads(out)
    assert shown["status"] == "acked" and shown["url"] == f"https://monitor.example/alerts/{alert_id}"
    assert [(e["action"], e["note"], e["actor"]) for e in shown["events"]] == [
        ("raised", None, "detector"), ("ack", "seen; checking sources", "ana")]
    assert json.loads(cli("alerts", "list", "--status", "open", "--json")[1]) == []
    assert [r["id"] for r in json.loads(cli("alerts", "list", "--status", "acked", "--json")[1])] == [alert_id]
    code, out, _ = cli("alerts", "dismiss", str(alert_id), "--json")
    assert code == 0 and json.loads(out)["status"] == "dismissed"
    code, out, _ = cli("alerts", "show", str(alert_id))
    assert code == 0 and "dismissed" in out


def test_unknown_alert_and_bad_input_exit_2(db, cli):
    code, _, err = cli("alerts", "ack", "999")
    assert code == 2 and "alert 999 does not exist" in err
    code, _, err = cli("alerts", "silence", "x", "--until", "next week", "--reason", "r")
    assert code == 2 and "--until" in err
    code, _, err = cli("alerts", "test-send", "nope")
    assert code == 2 and "no channel named 'nope'" in err


def test_silence_commands_mute_new_alerts(db, cli):
    until = (datetime.now(UTC) + timedelta(days=1)).strftime(ISO_Z)
    code, out, _ = cli("alerts", "silence", "returning_fighters", "--until", until, "--reason", "trial week",
                       "--json")
    assert code == 0 and json.loads(out)["until"] == until
    code, out, _ = cli("alerts", "silences", "--json")
    (row,) = json.loads(out)
    assert row["theme"] == "returning_fighters" and row["reason"] == "trial week" and row["source"] == "stored"
    _raise(db, intent(), channels=cli.settings["channels"])
    assert json.loads(cli("deliveries", "list", "--json")[1]) == []
    assert cli("alerts", "unsilence", str(row["id"]))[0] == 0
    assert json.loads(cli("alerts", "silences", "--json")[1]) == []


def test_test_send_reaches_the_channel(db, receiver, cli):
    code, out, err = cli("alerts", "test-send", "ops", "--json")
    assert code == 0, err
    assert json.loads(out)["ok"] is True
    (hit,) = receiver.hits
    doc = Webhook(SECRET).verify(hit.body, hit.headers)
    assert doc["type"] == "test" and doc["alerts"][0]["theme"] == "example_theme"
    receiver.default = 410
    code, out, _ = cli("alerts", "test-send", "ops", "--json")
    assert code == 1 and json.loads(out)["permanent"] is True and "HTTP 410" in json.loads(out)["error"]


def test_every_command_has_help_with_an_example(capsys):
    for argv in (["alerts", "list"], ["alerts", "show"], ["alerts", "ack"], ["alerts", "test-send"],
                 ["alerts", "silence"], ["alerts", "silences"], ["deliveries", "list"], ["dispatch"]):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--help"])
        assert exc.value.code == 0
        assert "Example: pipeline" in capsys.readouterr().out
