"""What the outbox promises under stress: a hung channel delays no other, a killed dispatcher loses nothing,
two dispatchers at once send nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from alerts_support import HANG, T0, Receiver, intent, stamp_head, webhook
from sqlalchemy import select

from pipeline.alerts.dispatch import dispatch_once
from pipeline.storage.db import Database
from pipeline.storage.deliveries import INTERRUPTED, list_deliveries, notification_attempts
from pipeline.storage.models.deliveries import Notification

ROOT = Path(__file__).resolve().parents[2]


def test_hung_receiver_delays_no_other_channel(db, receiver, smtp, raise_alert, settings_of):
    hung = Receiver().start()
    try:
        hung.default = HANG
        channels = [
            webhook("hung", hung.url, timeout="2s"),
            webhook("fine", receiver.url),
            {"name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
             "sender": "monitor@example.org", "to": ["a@example.org"], "timeout": "2s"},
        ]
        settings = settings_of(channels=channels)
        raise_alert(intent(), settings)

        start = time.monotonic()
        summary = dispatch_once(db, settings, now=T0)
        total = time.monotonic() - start

        by_channel = {a.channel: a for a in summary.attempts}
        assert by_channel["fine"].outcome == "sent" and by_channel["mail"].outcome == "sent"
        assert by_channel["hung"].outcome == "retry" and "timed out after 2 s" in (by_channel["hung"].error or "")
        # The others were delivered while the hung one was still waiting: well within its 2 s timeout.
        assert receiver.accepted[0].at - start < 1.0
        assert by_channel["mail"].elapsed < 1.0 and len(smtp.messages) == 1
        # The run itself lasts about one timeout, not one per channel.
        assert 1.9 <= total < 3.5, total
    finally:
        hung.stop()


def test_two_dispatchers_at_once_send_each_notification_once(db, receiver, raise_alert, settings_of):
    settings = settings_of(channels=[webhook("ops", receiver.url), webhook("ops2", receiver.url)],
                           max_group_size=1)
    for day in range(12):
        raise_alert(intent(day=day), settings)
    results = []
    barrier = threading.Barrier(3)

    def run(worker: str) -> None:
        barrier.wait()
        results.append(dispatch_once(db, settings, now=T0, worker=worker))

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 3
    ids = [h.headers["webhook-id"] for h in receiver.hits]
    assert len(ids) == 24 and len(set(ids)) == 24, "24 notifications, each sent exactly once"
    assert sum(r.sent for r in results) == 24
    assert sum(r.notifications_created for r in results) == 24
    with db.session() as s:
        assert {d.status for d in list_deliveries(s)} == {"sent"}


def _cli_config(tmp_path: Path, db: Database, settings: dict[str, object]) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": db.url}, "sources": [], "alerts": settings}))
    return cfg


def test_dispatcher_killed_between_claim_and_record_loses_nothing(db, tmp_path, raise_alert, settings_of):
    r = Receiver().start()
    try:
        r.default = HANG  # the first request is read, then never answered: the process waits, claim held
        values = {"channels": [webhook("ops", r.url, timeout="60s")], "lease": "2m"}
        settings = settings_of(**values)
        now = datetime.now(UTC)
        alert_id = raise_alert(intent(), settings, now - timedelta(seconds=1))
        stamp_head(db)
        cfg = _cli_config(tmp_path, db, values)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(cfg), "dispatch", "--once"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert r.wait_for(1, timeout=30), proc.stderr.read().decode() if proc.poll() is not None else "no request"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        assert proc.returncode == -signal.SIGKILL

        # The claim and the attempt were written before the send; the outcome never was.
        with db.session() as s:
            (n,) = s.scalars(select(Notification)).all()
            log = notification_attempts(s, n.id)
        assert n.status == "pending" and n.claimed_until is not None and n.attempts == 1
        assert [a.outcome for a in log] == ["started"]

        # A dispatcher running while the lease holds leaves it alone.
        r.default = 200
        assert dispatch_once(db, settings, now=datetime.now(UTC)).attempts == ()
        assert len(r.hits) == 1

        # After the lease expires, the next run reclaims and completes it, with the same message id.
        later = n.claimed_until + timedelta(seconds=1)
        summary = dispatch_once(db, settings, now=later)
        assert [a.outcome for a in summary.attempts] == ["sent"]
        assert [h.status for h in r.hits] == [None, 200]
        assert len({h.headers["webhook-id"] for h in r.hits}) == 1
        with db.session() as s:
            (n,) = s.scalars(select(Notification)).all()
            log = notification_attempts(s, n.id)
            (d,) = list_deliveries(s)
        assert n.status == "sent" and d.status == "sent" and d.alert_id == alert_id
        assert [a.outcome for a in log] == ["interrupted", "sent"] and log[0].error == INTERRUPTED
    finally:
        r.stop()
