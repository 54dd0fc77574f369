"""Detection orchestrator: bring window counts up to date, fold the detector over windows, raise alerts.

``detect_due`` (the live service) and ``detect_period`` (``pipeline detect``) share
``_run``: for each theme, resume from the stored state of the window before the
period (or, with none, from the first window holding data), evaluate each closed
window in order with :func:`pipeline.signals.evaluate_window`, store the decision
and carried state, and raise an alert for every ``alert`` decision inside the
period, together with composite alerts.  The math is pure; this module only moves
values between storage and the detector.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.alerts.raising import raise_intent
from pipeline.alerts.values import AlertIntent
from pipeline.signals import CusumState, Decision, Shift, SourceHealth, WindowCount, evaluate_composite
from pipeline.signals.baseline import history_windows
from pipeline.signals.cusum import evaluate_window
from pipeline.storage.alerts import list_alerts
from pipeline.storage.signals import (
    StoredCount,
    article_span,
    counts_between,
    detection_lock,
    dirty_windows,
    last_signal_window,
    refresh_window,
    save_signal,
    shifts_between,
    signals_before,
    theme_articles,
)
from pipeline.timewindows import window_start

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline.config import Config
    from pipeline.storage.db import Database

log = logging.getLogger(__name__)
TOP_ARTICLES = 5


@dataclass(slots=True)
class DetectResult:
    windows: int = 0
    themes: int = 0
    watches: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    latest: list[dict[str, Any]] = field(default_factory=list)  # each theme's decisions in the last window

    def to_dict(self) -> dict[str, Any]:
        return {"windows": self.windows, "themes": self.themes, "watches": self.watches, "alerts": self.alerts,
                "latest": self.latest}


def to_window_count(c: StoredCount) -> WindowCount:
    """Storage's counts as the detector takes them."""
    return WindowCount(
        theme=c.theme, window_start=c.window_start, window_end=c.window_end, x=c.x, n=c.n,
        # A story cluster may span sources; the detector asks for distinct sources among the x stories.
        sources=min(c.sources, c.x), raw_x=c.raw_x, raw_n=c.raw_n,
        health=SourceHealth(active=c.sources_total, ok=min(c.sources_ok, c.sources_total)) if c.sources_total
        else None,
        x_top_source=min(c.top_source_x, c.x),
    )


def refresh_counts(cfg: Config, db: Database, now: datetime) -> int:
    """Recompute the windows that received articles since the last refresh."""
    hours = cfg.signals.window_hours
    with db.session() as s:
        windows = dirty_windows(s)
    for w in windows:
        with db.session() as s:
            refresh_window(s, w, hours, now)
    return len(windows)


def theme_ids(cfg: Config) -> list[str]:
    from pipeline.config import load_theme_set

    return [t.id for t in load_theme_set(cfg).themes]


def detect_period(cfg: Config, db: Database, *, first: datetime, end: datetime, dry_run: bool = False,
                  now: datetime | None = None) -> DetectResult:
    """Every window in [first, end) computed as the live service does; alerts stored unless ``dry_run``.

    Like the service, it leaves alone the windows not yet settled (``service.detect_grace_minutes``).
    """
    now = now or datetime.now(UTC)
    return _run(cfg, db, first=first, end=min(end, _settled_end(cfg, now)), dry_run=dry_run, now=now, resume=False)


def detect_due(cfg: Config, db: Database, *, now: datetime | None = None) -> DetectResult:
    """The live step: every settled window (closed for ``service.detect_grace_minutes``) after each theme's
    last computed one."""
    now = now or datetime.now(UTC)
    with detection_lock(db) as mine:
        if not mine:
            log.info("detection is running on another worker; skipping this run")
            return DetectResult()
        return _run(cfg, db, first=None, end=_settled_end(cfg, now), dry_run=False, now=now, resume=True)


def _settled_end(cfg: Config, now: datetime) -> datetime:
    """The end of the last settled window: closed at least ``service.detect_grace_minutes`` ago, since feeds
    polled every 30 minutes still deliver the last hours of a window after it has closed."""
    return window_start(now - timedelta(minutes=cfg.service.detect_grace_minutes), cfg.signals.window_hours)


def detect_provisional(cfg: Config, db: Database, *, now: datetime | None = None) -> DetectResult:
    """A provisional look at the open window (and any unsettled one before it): the same fold from each
    theme's stored state, over the counts so far, storing nothing and raising nothing. ``latest`` holds
    each theme's decisions for the open window; ``alerts`` what would be raised if it closed now."""
    now = now or datetime.now(UTC)
    open_end = window_start(now, cfg.signals.window_hours) + timedelta(hours=cfg.signals.window_hours)
    return _run(cfg, db, first=None, end=open_end, dry_run=True, now=now, resume=True, include_open=True)


def _run(cfg: Config, db: Database, *, first: datetime | None, end: datetime, dry_run: bool, now: datetime,
         resume: bool, include_open: bool = False) -> DetectResult:
    settings = cfg.signals
    hours = settings.window_hours
    length = timedelta(hours=hours)
    refresh_counts(cfg, db, now)
    last_end = window_start(now, hours) + (length if include_open else timedelta(0))
    end = min(window_start(end - timedelta(microseconds=1), hours) + length, last_end)
    themes = theme_ids(cfg)
    result = DetectResult(themes=len(themes))
    with db.session() as s:
        lo, _hi = article_span(s)
    if lo is None:
        return result
    data_start = window_start(lo, hours)
    reach = history_windows(settings) * length
    decisions: list[Decision] = []
    period_first = end
    for theme in themes:
        with db.session() as s:
            if resume:
                last = last_signal_window(s, theme)
                prior = [last] if last is not None else []
            else:
                assert first is not None
                prior = signals_before(s, theme, first, 1)
        if prior:
            state = CusumState.from_dict(prior[0].state)
            fold_from = prior[0].window_start + length
        else:
            # No stored state: fold from the first window with data, as the service would have.
            state = CusumState(theme=theme)
            fold_from = data_start
        theme_first = fold_from if first is None else max(first, fold_from)
        period_first = min(period_first, theme_first)
        if fold_from >= end:
            continue
        result.windows = max(result.windows, int((end - theme_first) / length))
        with db.session() as s:
            series = counts_between(s, [theme], fold_from - reach, end, hours)[theme]
        past: list[WindowCount] = []
        for stored in series:
            wc = to_window_count(stored)
            if wc.window_start < fold_from:
                past.append(wc)
                continue
            while past and past[0].window_start < wc.window_start - reach:
                past.pop(0)
            state, ds = evaluate_window(past, wc, state, settings)
            past.append(wc)
            raising = [d for d in ds if d.level == "alert"] if wc.window_start >= theme_first else []
            if wc.window_start >= theme_first:
                decisions.extend(ds)
            if wc.window_end == end:
                result.latest.extend(_latest(d) for d in ds)
            if dry_run:
                for d in raising:
                    _report(result, _theme_intent(d), None)
                continue
            # The window's decisions, carried state and alerts commit together: a failure part-way leaves
            # the window undecided (the next run resumes before it), never decided without its alert.
            with db.session() as s:
                for d in ds:
                    save_signal(s, theme=theme, window_start=d.window_start, direction=d.direction,
                                level=d.level if d.method != "none" else "insufficient", s=d.s, p0=d.p0,
                                phi=d.phi, in_episode=d.in_episode, state=state.to_dict(),
                                decision=_decision_dict(d), now=now)
                for d in raising:
                    intent = _with_top_articles(s, _theme_intent(d))
                    _report(result, intent, _raise(s, cfg, intent, now))
    result.watches = sum(1 for d in decisions if d.level == "watch")
    for intent in _composites(cfg, db, decisions, period_first, end, look_back=resume):
        with db.session() as s:
            intent = _with_top_articles(s, intent)
            _report(result, intent, None if dry_run else _raise(s, cfg, intent, now))
    return result


def _raise(session: Session, cfg: Config, intent: AlertIntent, now: datetime) -> int | None:
    """Raise through the outbox; an alert for a window long past (a backfill, a first start over imported
    history) is stored for review but notifies nobody."""
    limit = cfg.service.notify_max_age_windows
    if limit is not None and intent.window_end < now - limit * timedelta(hours=cfg.signals.window_hours):
        quiet = cfg.alerts.model_copy(update={"channels": [], "routes": [], "default_channels": []})
        intent = replace(intent, explanation={**intent.explanation, "backfill": True})
        return raise_intent(session, intent, quiet, now=now)
    return raise_intent(session, intent, cfg.alerts, now=now)


def _with_top_articles(session: Session, intent: AlertIntent) -> AlertIntent:
    arts = theme_articles(session, _themes_of(intent), intent.onset or intent.window_start, intent.window_end,
                          TOP_ARTICLES)
    return replace(intent, explanation={**intent.explanation, "top_articles": arts})


def _report(result: DetectResult, intent: AlertIntent, alert_id: int | None) -> None:
    result.alerts.append({"id": alert_id, "kind": intent.kind, "theme": intent.theme,
                          "direction": intent.direction, "window_start": intent.window_start.isoformat(),
                          "observed": intent.observed, "expected": intent.expected,
                          "health_flag": intent.health_flag, "health_reason": intent.health_reason,
                          "new": alert_id is not None})


def _latest(d: Decision) -> dict[str, Any]:
    return {"theme": d.theme, "direction": d.direction, "window_start": d.window_start.isoformat(),
            "level": d.level, "method": d.method, "s": round(d.s, 3), "h": d.h, "observed": d.observed,
            "expected": None if d.expected is None else round(d.expected, 3), "note": d.note}


def _decision_dict(d: Decision) -> dict[str, Any]:
    return {"level": d.level, "method": d.method, "s": d.s, "h": d.h, "p0": d.p0, "phi": d.phi,
            "expected": d.expected, "observed": d.observed, "onset": d.onset.isoformat() if d.onset else None,
            "suppressed": d.suppressed, "health_flag": d.health_flag, "health_reason": d.health_reason,
            "note": d.note, "explanation": d.explanation.to_dict() if d.explanation else None}


def _theme_intent(d: Decision) -> AlertIntent:
    exp = d.explanation.to_dict() if d.explanation else {}
    observed = float(exp.get("observed_since_onset", d.observed))
    expected = float(exp.get("expected_since_onset") or d.expected or 0.0)
    return AlertIntent(
        kind="sparse" if d.method == "sparse" else "theme", theme=d.theme, direction=d.direction,
        severity="info" if d.health_flag else "warning", window_start=d.window_start, window_end=d.window_end,
        onset=d.onset, observed=observed, expected=round(expected, 4), health_flag=d.health_flag,
        health_reason=d.health_reason or None, explanation=exp)


def _composites(cfg: Config, db: Database, decisions: list[Decision], first: datetime,
                end: datetime, *, look_back: bool) -> list[AlertIntent]:
    rules = cfg.signals.composites
    if not rules or first >= end:
        return []
    hours = cfg.signals.window_hours
    length = timedelta(hours=hours)
    widest = max(r.within_windows for r in rules)
    if look_back:
        # The live service looks at earlier windows again: a composite an interrupted run did not raise is
        # raised now; one already raised is not, since its member shifts are marked used below.
        first = first - widest * length
    shifts: dict[tuple[str, str, datetime], Shift] = {}
    with db.session() as s:
        # Every stored shift up to the end (this run's decisions replace those of the same window): themes
        # resume from different windows, so one theme's earlier shift may sit inside another's new range.
        for sig in shifts_between(s, first - widest * length, end):
            dec = sig.decision or {}
            if dec.get("suppressed"):
                continue
            onset = datetime.fromisoformat(dec["onset"]) if dec.get("onset") else sig.window_start
            sh = Shift(sig.theme, sig.direction, sig.level, sig.window_start, onset)  # type: ignore[arg-type]
            shifts[(sh.theme, sh.direction, sh.window_start)] = sh
        earlier = [a for r in rules for a in list_alerts(s, theme=r.id) if a.kind == "composite"]
    for d in decisions:
        found = Shift.from_decision(d)
        if found is not None:
            shifts[(found.theme, found.direction, found.window_start)] = found
    used: dict[str, set[tuple[str, str, datetime]]] = {r.id: set() for r in rules}
    for a in earlier:
        for m in (a.explanation or {}).get("members", []):
            if a.theme in used and m.get("onset"):
                used[a.theme].add((m["theme"], m["direction"], datetime.fromisoformat(m["onset"])))
    ordered = sorted(shifts.values(), key=lambda x: x.window_start)
    out: list[AlertIntent] = []
    start = first
    while start < end:
        seen = [x for x in ordered if x.window_start <= start]
        for rule in rules:
            cd = evaluate_composite(rule, seen, start, start + length, used[rule.id], hours)  # type: ignore[arg-type]
            if cd is None:
                continue
            used[rule.id] |= cd.keys  # type: ignore[arg-type]
            members = [m.to_dict() for m in cd.members]
            summary = ", ".join(f"{m['theme']} {m['direction']}" for m in members)
            out.append(AlertIntent(
                kind="composite", theme=cd.rule_id, direction=cd.direction, severity="critical",
                window_start=cd.window_start, window_end=cd.window_end, onset=cd.onset,
                observed=float(len(members)), expected=float(len(rule.members)),
                explanation={**cd.to_dict(), "members": members,
                             "summary": f"{cd.label or cd.rule_id}: {summary} within {rule.within_windows} windows"},
            ))
        start += length
    return out


def _themes_of(intent: AlertIntent) -> list[str]:
    if intent.kind == "composite":
        return [m["theme"] for m in intent.explanation.get("members", [])]
    return [intent.theme]

