"""The dispatcher: one pass over the outbox (``pipeline dispatch --once`` and the service's job).

1. Deliveries for channels no longer configured are marked dead, visibly.
2. Open alerts are re-queued after ``repeat_interval`` (if configured).
3. Each channel's due deliveries are gathered into one notification (muted ones are closed as silenced);
   its payload is frozen there, with a message id kept across retries.
4. Channels are served concurrently, one thread each: claim a due notification (attempt recorded first),
   send it with the channel's timeout, record the outcome (sent, retry with backoff, or dead). A channel
   that fails transiently is left until the next pass; the others are not held up.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from pipeline.alerts.channels import send
from pipeline.alerts.payload import alert_entry, build_payload
from pipeline.alerts.retry import after_failure
from pipeline.alerts.routing import active_silence, delivery_due, repeat_due, route, silences_from_config
from pipeline.alerts.settings import AlertSettings, ChannelSettings
from pipeline.alerts.values import AttemptOutcome, DispatchSummary, SilenceRecord
from pipeline.errors import DeliveryError, PipelineError
from pipeline.storage import alerts as alert_store
from pipeline.storage import deliveries as outbox
from pipeline.storage.db import Database

log = logging.getLogger(__name__)


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Run:
    """Mutable tallies of one pass, shared by the channel threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[AttemptOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, outcome: AttemptOutcome) -> None:
        with self.lock:
            self.attempts.append(outcome)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def dispatch_once(
    db: Database,
    settings: AlertSettings,
    *,
    now: datetime | None = None,
    web_base_url: str | None = None,
    worker: str | None = None,
    rng: random.Random | None = None,
) -> DispatchSummary:
    """Deliver every due notification once (retries are scheduled, not waited for) and say what happened.

    ``now`` drives every decision (due times, backoff, leases), so tests can move time forward;
    ``web_base_url`` makes the review links (``{base}/alerts/{id}``).
    """
    now = now or datetime.now(UTC)
    worker = worker or default_worker()
    rng = rng or random.Random()
    channels = {c.name: c for c in settings.channels}
    with db.session() as s:
        silences = [*silences_from_config(settings.silences), *alert_store.list_silences(s, active_at=now)]
        orphaned = _close_orphans(s, channels, now)
    repeats = 0
    if settings.repeat_interval is not None:
        with db.session() as s:
            repeats = _schedule_repeats(s, settings, silences, now)
    run = _Run()
    created = silenced = 0
    for channel in channels.values():
        if not channel.enabled:
            continue  # held, not dropped: its deliveries go out when it is enabled again
        try:
            c, m = _gather(db, settings, channel, silences, now, web_base_url)
        except PipelineError as exc:  # one channel's trouble must not stop the others
            log.error("dispatch: gathering for channel %s: %s", channel.name, exc)
            run.error(f"{channel.name}: {exc}")
            continue
        created += c
        silenced += m
    with db.session() as s:
        due = [c for c in outbox.channels_with_due(s, now) if c in channels and channels[c].enabled]

    budget = settings.lease / 2  # no new attempt starts after this, so every claim is recorded in its lease
    started = time.monotonic()
    threads = {
        name: threading.Thread(
            target=_serve_channel, args=(db, settings, channels[name], now, started, budget, worker, rng, run),
            name=f"dispatch-{name}", daemon=True,  # a wedged send must not keep the process alive
        )
        for name in due
    }
    for t in threads.values():
        t.start()
    for name, t in threads.items():
        limit = budget.total_seconds() + channels[name].timeout.total_seconds() + 5
        t.join(max(0.0, limit - (time.monotonic() - started)))
    unfinished = tuple(name for name, t in threads.items() if t.is_alive())
    for name in unfinished:
        log.warning("dispatch: channel %s still sending at the deadline; its lease will expire", name)
    return DispatchSummary(
        started_at=now, repeats_scheduled=repeats, notifications_created=created, silenced=silenced,
        orphaned=orphaned, attempts=tuple(sorted(run.attempts, key=lambda a: (a.channel, a.notification_id))),
        unfinished_channels=unfinished, errors=tuple(run.errors),
    )


def _close_orphans(s: Session, channels: dict[str, ChannelSettings], now: datetime) -> int:
    """Mark dead what is owed to channels removed from the config; returns how many deliveries."""
    d_ids, n_ids = outbox.orphaned(s, list(channels))
    reason = "channel is no longer configured"
    outbox.kill_notifications(s, n_ids, reason=reason, now=now)
    outbox.close_deliveries(s, d_ids, status="dead", reason=reason, now=now)
    return len(d_ids)


def _schedule_repeats(s: Session, settings: AlertSettings, silences: list[SilenceRecord], now: datetime) -> int:
    candidates = [(a, c, t) for a, c, t in outbox.repeat_candidates(s) if repeat_due(t, settings.repeat_interval, now)]
    alerts = alert_store.alerts_by_id(s, (a for a, _, _ in candidates))
    count = 0
    for alert_id, name, _ in candidates:
        channel = settings.channel(name)
        alert = alerts.get(alert_id)
        if channel is None or alert is None:
            continue
        routed = route(alert, settings.routes, settings.channels, silences, now,
                       default_channels=settings.default_channels)
        if name not in routed:
            continue
        due = delivery_due(now, channel, settings.group_wait_for(name), outbox.open_group_due(s, name, now))
        outbox.add_delivery(s, alert_id=alert_id, channel=name, kind="repeat", due_at=due, now=now)
        count += 1
    return count


def _gather(
    db: Database,
    settings: AlertSettings,
    channel: ChannelSettings,
    silences: list[SilenceRecord],
    now: datetime,
    web_base_url: str | None,
) -> tuple[int, int]:
    """Make notifications of the channel's due deliveries; returns (notifications made, deliveries muted)."""
    created = muted = 0
    while True:
        with db.session() as s:
            rows = outbox.due_fresh_deliveries(s, channel=channel.name, now=now, limit=settings.max_group_size)
            if not rows:
                return created, muted
            alerts = alert_store.alerts_by_id(s, (r.alert_id for r in rows))
            keep: list[outbox.PendingDelivery] = []
            quiet: list[outbox.PendingDelivery] = []
            for r in rows:
                alert = alerts.get(r.alert_id)
                silence = active_silence(alert, silences, now) if alert is not None else None
                (quiet if silence is not None else keep).append(r)
                if silence is not None:
                    alert_store.add_event(s, r.alert_id, "silenced", now=now, actor=silence.created_by,
                                          note=f"{channel.name}: not sent, silenced: {silence.reason}")
            muted += outbox.close_deliveries(s, [r.id for r in quiet], status="silenced",
                                             reason="silenced", now=now)
            if not keep:
                continue
            entries = [
                alert_entry(alerts[r.alert_id], alert_store.top_articles(s, alerts[r.alert_id], settings.top_articles),
                            base_url=web_base_url, repeat=r.kind == "repeat")
                for r in keep
            ]
            kind = "digest" if channel.digest else ("repeat" if all(r.kind == "repeat" for r in keep) else "alerts")
            message_id = outbox.new_message_id()
            payload = build_payload(kind=kind, message_id=message_id, channel=channel.name, created_at=now,
                                    entries=entries)
            nid = outbox.create_notification(s, channel=channel.name, kind=kind, message_id=message_id,
                                             payload=payload, delivery_ids=[r.id for r in keep], now=now)
            if nid is None:  # another dispatcher took these rows first; it sends them
                return created, muted
            created += 1


def _serve_channel(
    db: Database,
    settings: AlertSettings,
    channel: ChannelSettings,
    now: datetime,
    started: float,
    budget: timedelta,
    worker: str,
    rng: random.Random,
    run: _Run,
) -> None:
    """Send the channel's due notifications one by one until none is left, one fails or time is up."""
    try:
        while time.monotonic() - started < budget.total_seconds():
            claim_now = now + timedelta(seconds=time.monotonic() - started)
            with db.session() as s:
                claim = outbox.claim_next(s, channel=channel.name, now=claim_now, lease=settings.lease, worker=worker)
            if claim is None:
                return
            t0 = time.monotonic()
            error: DeliveryError | None = None
            note: str | None = None
            try:
                note = send(channel, claim.message)
            except DeliveryError as exc:
                error = exc
            elapsed = time.monotonic() - t0
            finished = now + timedelta(seconds=time.monotonic() - started)
            next_at: datetime | None = None
            outcome: Literal["sent", "retry", "dead"] = "sent"
            text = note
            if error is not None:
                decision = after_failure(
                    error=str(error), permanent=error.permanent, retry_after=error.retry_after,
                    attempt=claim.message.attempt, created_at=claim.created_at, now=finished,
                    initial=settings.retry_initial, maximum=settings.retry_max, max_age=settings.max_age,
                    rand=rng.random(),
                )
                outcome, text, next_at = decision.outcome, decision.reason, decision.next_attempt_at
            with db.session() as s:
                recorded = outbox.record_outcome(s, claim, outcome=outcome, now=finished, error=text,
                                                 next_attempt_at=next_at)
            alert_ids = tuple(int(a["id"]) for a in claim.message.payload.get("alerts", []))
            run.add(AttemptOutcome(claim.message.notification_id, channel.name, claim.message.message_id, alert_ids,
                                   claim.message.attempt, recorded, text, next_at, elapsed))
            log_fn = log.info if recorded == "sent" else log.warning
            log_fn("dispatch: %s notification %d (alerts %s) attempt %d: %s%s", channel.name,
                   claim.message.notification_id, ",".join(map(str, alert_ids)), claim.message.attempt, recorded,
                   f": {text}" if text else "")
            if error is not None and not error.permanent:
                return  # the channel is failing now: leave the rest for the next pass instead of hammering it
    except PipelineError as exc:
        log.error("dispatch: channel %s: %s", channel.name, exc)
        run.error(f"{channel.name}: {exc}")
