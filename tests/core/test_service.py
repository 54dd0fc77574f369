"""The service as a user runs it: ``pipeline run`` polls, serves the review page and stops cleanly;
``themes retag`` re-applies a changed definition."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from pipeline.cli import main  # noqa: E402
from tests.core.test_poll_cycle import rss  # noqa: E402
from tests.support.feedserver import FeedServer, Reply  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as r:  # 127.0.0.1 only
        return json.loads(r.read())


def test_run_polls_serves_and_stops(tmp_path: Path) -> None:
    """Ten feeds: enough for the service's worker processes (started through a fork server) to do the work."""
    port = free_port()
    with FeedServer() as server:
        urls = [server.add(f"/f{i}", Reply(body=rss(f"svc{i}", 3))) for i in range(10)]
        cfg = tmp_path / "config.yaml"
        cfg.write_text(
            f"database:\n  url: sqlite:///{tmp_path / 'svc.db'}\nthemes: {_ROOT / 'seeds' / 'themes.yaml'}\n"
            "fetch:\n  allow_private_networks: true\nsources:\n"
            + "".join(f"  - name: local{i}\n    url: {u}\n" for i, u in enumerate(urls))
            + f"web:\n  port: {port}\nservice:\n  tick_seconds: 1\n")
        assert main(["--config", str(cfg), "db", "upgrade"]) == 0
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(cfg), "run"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            deadline = time.monotonic() + 60
            sources: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                try:
                    sources = get_json(f"http://127.0.0.1:{port}/api/sources")  # type: ignore[assignment]
                    if len(sources) == 10 and all(s["status"] == "ok" for s in sources):
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            assert len(sources) == 10 and all(s["status"] == "ok" for s in sources), sources
            assert all(s["entries_stored"] == 3 for s in sources), sources
            health = get_json(f"http://127.0.0.1:{port}/healthz")
            assert isinstance(health, dict) and health.get("ok") is True, health
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        assert proc.returncode == 0, err.decode()[-2000:]


def test_retag_applies_a_changed_definition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    themes = tmp_path / "themes.yaml"
    themes.write_text("themes:\n  - id: weather\n    label: Weather\n    rules: [flood*]\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'r.db'}\nsources: []\nthemes: themes.yaml\n")
    lines = [{"url": f"https://x.example/{i}", "title": f"t{i}", "published": f"2026-03-0{i + 1}T10:00:00Z",
              "source": "x", "text": text}
             for i, text in enumerate(["Floods hit the valley after the storm broke.",
                                       "A heatwave and drought gripped the south for weeks."])]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert main(["--config", str(cfg), "db", "upgrade"]) == 0
    assert main(["--config", str(cfg), "import", str(tmp_path / "in.jsonl")]) == 0
    capsys.readouterr()
    # The definition grows: droughts now count too.
    themes.write_text("themes:\n  - id: weather\n    label: Weather\n    rules: [flood*, drought*]\n")
    assert main(["--config", str(cfg), "themes", "retag", "--since", "2026-03-01", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["articles"] == 2 and summary["changed"] == 2 and summary["windows"] >= 1
    assert main(["--config", str(cfg), "detect", "--from", "2026-03-01", "--to", "2026-03-02", "--json"]) == 0
    capsys.readouterr()
    from sqlalchemy import text

    from pipeline.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    with db.engine.connect() as conn:
        rows = conn.execute(text("select window_start, x from window_counts where theme='weather' order by 1")).all()
    db.dispose()
    assert [r[1] for r in rows] == [1, 1], rows
