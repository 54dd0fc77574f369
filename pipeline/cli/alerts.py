"""Commands for alerts and their delivery: alerts list|show|ack|confirm|dismiss|test-send|silence|silences|
unsilence, deliveries list, dispatch."""

from __future__ import annotations

import argparse
import getpass
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pipeline.cli.common import Context, migrated_db, print_json
from pipeline.errors import DeliveryError, InputError, NotFoundError
from pipeline.timewindows import iso

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("alerts", help="list, show and review raised alerts; silences; test a channel")
    asub = p.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND", required=True)

    ls = asub.add_parser("list", help="raised alerts, newest window first",
                         epilog="Example: pipeline alerts list --status open --json")
    ls.add_argument("--status", choices=["open", "acked", "confirmed", "dismissed"])
    ls.add_argument("--theme", help="only this theme (or composite rule id)")
    ls.add_argument("--limit", type=int, help="at most this many")
    ls.add_argument("--json", action="store_true", help="a JSON array on stdout")
    ls.set_defaults(func=cmd_list)

    sh = asub.add_parser("show", help="one alert with its review trail and deliveries",
                         epilog="Example: pipeline alerts show 17 --json")
    sh.add_argument("id", type=int)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)

    for action, verb in (("ack", "acknowledge"), ("confirm", "confirm"), ("dismiss", "dismiss")):
        r = asub.add_parser(action, help=f"{verb} an alert, with an optional note for the trail",
                            epilog=f'Example: pipeline alerts {action} 17 --note "seen, following up"')
        r.add_argument("id", type=int)
        r.add_argument("--note", help="kept in the alert's review trail")
        r.add_argument("--actor", help="who reviews (default: the login name)")
        r.add_argument("--json", action="store_true")
        r.set_defaults(func=cmd_review, action=action)

    t = asub.add_parser("test-send", help="send a made-up alert to one channel now, outside the outbox",
                        epilog="Example: pipeline alerts test-send ops-webhook")
    t.add_argument("channel")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_test_send)

    si = asub.add_parser("silence", help="mute a theme (optionally one direction) until a time",
                         epilog='Example: pipeline alerts silence returning_fighters --until 2030-01-01T00:00:00Z '
                                '--reason "known trial coverage"')
    si.add_argument("theme", help="theme id (or shell pattern such as 'returning_*')")
    si.add_argument("--until", required=True, help="ISO 8601 time (UTC unless an offset is given)")
    si.add_argument("--reason", required=True)
    si.add_argument("--direction", choices=["rise", "fall"], help="only this direction (default: both)")
    si.add_argument("--json", action="store_true")
    si.set_defaults(func=cmd_silence)

    ss = asub.add_parser("silences", help="silences in force (stored and from config)",
                         epilog="Example: pipeline alerts silences --all --json")
    ss.add_argument("--all", action="store_true", help="include expired stored silences")
    ss.add_argument("--json", action="store_true")
    ss.set_defaults(func=cmd_silences)

    us = asub.add_parser("unsilence", help="remove a stored silence", epilog="Example: pipeline alerts unsilence 3")
    us.add_argument("id", type=int)
    us.set_defaults(func=cmd_unsilence)

    d = sub.add_parser("deliveries", help="the delivery outbox")
    dsub = d.add_subparsers(dest="deliveries_command", metavar="SUBCOMMAND", required=True)
    dl = dsub.add_parser("list", help="outbox rows with attempts, next try and last error, newest first",
                         epilog="Example: pipeline deliveries list --status dead --json")
    dl.add_argument("--status", choices=["pending", "sent", "dead", "silenced"])
    dl.add_argument("--channel")
    dl.add_argument("--alert", type=int, help="only deliveries of this alert")
    dl.add_argument("--limit", type=int, default=200)
    dl.add_argument("--json", action="store_true")
    dl.set_defaults(func=cmd_deliveries)

    x = sub.add_parser("dispatch", help="deliver every due notification (retries are recorded and scheduled)",
                       epilog="Example: pipeline dispatch --once")
    x.add_argument("--once", action="store_true", help="one pass, then exit (else: a pass every "
                   "service.dispatch_interval_seconds until interrupted)")
    x.add_argument("--json", action="store_true")
    x.set_defaults(func=cmd_dispatch)


def _now() -> datetime:
    return datetime.now(UTC)


def base_url(ctx: Context) -> str:
    """Where the review page is reached: web.base_url, else the configured host and port."""
    web = ctx.config.web
    return web.base_url or f"http://{web.host}:{web.port}"


def _actor(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _parse_time(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{what}: not an ISO 8601 time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _get(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a storage function; an id that does not exist is bad input (exit 2)."""
    try:
        return fn(*args, **kwargs)
    except NotFoundError as exc:
        raise InputError(str(exc)) from exc


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return iso(value) or ""
    return "" if value is None else str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.alerts.payload import alert_as_dict
    from pipeline.storage.alerts import list_alerts

    with migrated_db(ctx).session() as s:
        alerts = list_alerts(s, status=args.status, theme=args.theme, limit=args.limit)
    rows = [alert_as_dict(a) for a in alerts]
    if args.json:
        print_json(rows)
    else:
        _table(rows, ["id", "status", "theme", "direction", "severity", "window_start", "observed", "expected"])
    return 0


def _delivery_dict(d: Any) -> dict[str, Any]:
    return {
        "id": d.id, "alert_id": d.alert_id, "channel": d.channel, "kind": d.kind, "status": d.status,
        "attempts": d.attempts, "next_attempt_at": d.next_attempt_at, "last_error": d.last_error,
        "message_id": d.message_id, "notification_id": d.notification_id, "due_at": d.due_at,
        "created_at": d.created_at, "sent_at": d.sent_at, "claimed_until": d.claimed_until,
    }


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.alerts.payload import alert_as_dict
    from pipeline.storage.alerts import alert_events, get_alert
    from pipeline.storage.deliveries import list_deliveries, notification_attempts

    with migrated_db(ctx).session() as s:
        alert = _get(get_alert, s, args.id)
        events = alert_events(s, args.id)
        deliveries = list_deliveries(s, alert_ids=[args.id])
        attempts = {d.notification_id: notification_attempts(s, d.notification_id)
                    for d in deliveries if d.notification_id is not None}
    out = alert_as_dict(alert)
    out["url"] = f"{base_url(ctx).rstrip('/')}/alerts/{alert.id}"
    out["events"] = [{"action": e.action, "note": e.note, "actor": e.actor, "at": e.at} for e in events]
    out["deliveries"] = [
        {**_delivery_dict(d), "attempt_log": [
            {"number": a.number, "started_at": a.started_at, "finished_at": a.finished_at, "outcome": a.outcome,
             "error": a.error, "worker": a.worker} for a in attempts.get(d.notification_id or 0, [])
        ]}
        for d in deliveries
    ]
    if args.json:
        print_json(out)
        return 0
    for key in ("id", "status", "kind", "theme", "direction", "severity", "window_start", "window_end", "onset",
                "observed", "expected", "health_flag", "health_reason", "url"):
        print(f"{key:14} {_fmt(out[key])}")
    print("explanation:")
    for k, v in out["explanation"].items():
        print(f"  {k}: {v}")
    print("trail:")
    for e in out["events"]:
        print(f"  {_fmt(e['at'])}  {e['action']:9} {e['actor'] or ''}  {e['note'] or ''}".rstrip())
    print("deliveries:")
    for d in out["deliveries"]:
        print(f"  #{d['id']} {d['channel']} {d['status']} attempts={d['attempts']} {d['last_error'] or ''}".rstrip())
    return 0


def cmd_review(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.alerts.payload import alert_as_dict
    from pipeline.storage.alerts import review_alert

    with migrated_db(ctx).session() as s:
        alert = _get(review_alert, s, args.id, args.action, now=_now(), note=args.note, actor=_actor(args.actor))
    if args.json:
        print_json(alert_as_dict(alert))
    else:
        print(f"alert {alert.id}: {alert.status}")
    return 0


def cmd_test_send(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.alerts.testsend import send_test

    start = time.monotonic()
    try:
        note = send_test(ctx.config.alerts, args.channel, now=_now(), web_base_url=base_url(ctx))
    except DeliveryError as exc:
        if args.json:
            print_json({"channel": args.channel, "ok": False, "permanent": exc.permanent, "error": str(exc)})
            return 1
        raise
    elapsed = round(time.monotonic() - start, 3)
    if args.json:
        print_json({"channel": args.channel, "ok": True, "note": note, "elapsed": elapsed})
    else:
        print(f"sent to {args.channel} in {elapsed} s" + (f" ({note})" if note else ""))
    return 0


def _silence_dict(s: Any) -> dict[str, Any]:
    return {"id": s.id, "theme": s.theme, "direction": s.direction, "starts_at": s.starts_at, "until": s.until,
            "reason": s.reason, "created_by": s.created_by, "created_at": s.created_at}


def cmd_silence(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.storage.alerts import add_silence

    until = _parse_time(args.until, "--until")
    with migrated_db(ctx).session() as s:
        rec = add_silence(s, theme=args.theme, direction=args.direction, until=until, reason=args.reason,
                          now=_now(), created_by=_actor(None))
    if args.json:
        print_json(_silence_dict(rec))
    else:
        print(f"silence {rec.id}: {rec.theme} {rec.direction or 'rise+fall'} muted until {iso(rec.until)}")
    return 0


def cmd_silences(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.alerts.routing import silences_from_config
    from pipeline.storage.alerts import list_silences

    now = _now()
    with migrated_db(ctx).session() as s:
        stored = list_silences(s, active_at=None if args.all else now)
    configured = [x for x in silences_from_config(ctx.config.alerts.silences) if args.all or x.active(now)]
    rows = [{**_silence_dict(x), "source": "config" if x.id is None else "stored"} for x in [*configured, *stored]]
    if args.json:
        print_json(rows)
    else:
        _table(rows, ["id", "source", "theme", "direction", "until", "reason"])
    return 0


def cmd_unsilence(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.storage.alerts import delete_silence

    with migrated_db(ctx).session() as s:
        _get(delete_silence, s, args.id)
    print(f"silence {args.id} removed")
    return 0


def cmd_deliveries(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.storage.deliveries import list_deliveries

    with migrated_db(ctx).session() as s:
        rows = [_delivery_dict(d) for d in list_deliveries(
            s, status=args.status, channel=args.channel,
            alert_ids=[args.alert] if args.alert is not None else None, limit=args.limit,
        )]
    if args.json:
        print_json(rows)
    else:
        _table(rows, ["id", "alert_id", "channel", "status", "attempts", "next_attempt_at", "last_error"])
    return 0


def cmd_dispatch(args: argparse.Namespace, ctx: Context) -> int:
    from pipeline.alerts.dispatch import dispatch_once

    db = migrated_db(ctx)
    while True:
        summary = dispatch_once(db, ctx.config.alerts, web_base_url=base_url(ctx))
        if args.json:
            print_json(summary.as_dict())
        else:
            print(f"dispatch: {summary.notifications_created} notifications made, {summary.sent} sent, "
                  f"{summary.retrying} to retry, {summary.dead} dead, {summary.silenced} silenced, "
                  f"{summary.repeats_scheduled} repeats queued")
            for a in summary.attempts:
                if a.outcome != "sent":
                    print(f"  {a.channel} notification {a.notification_id} attempt {a.attempt}: {a.outcome}: "
                          f"{a.error}" + (f" (next {iso(a.next_attempt_at)})" if a.next_attempt_at else ""))
        if args.once:
            return 0
        time.sleep(ctx.config.service.dispatch_interval_seconds)
