"""Folding ``evaluate_window`` over series of windows: the reference the live service must agree with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from itertools import pairwise

from pipeline.errors import InputError
from pipeline.signals.baseline import history_windows
from pipeline.signals.cusum import evaluate_window
from pipeline.signals.settings import SignalSettings
from pipeline.signals.types import CusumState, Decision, WindowCount

_DIRECTION_ORDER = {"rise": 0, "fall": 1}


def fold_windows(
    counts: Iterable[WindowCount],
    settings: SignalSettings,
    *,
    state: CusumState | None = None,
    history: Sequence[WindowCount] = (),
) -> tuple[CusumState, list[Decision]]:
    """Evaluate one theme's windows in order, from ``state`` (default: a fresh one) and earlier ``history``.

    This is what the live service does one window at a time: load the last state and the trailing windows,
    evaluate, store. ``counts`` must all be of one theme, come after ``history``, and be in time order.
    """
    window = timedelta(hours=settings.window_hours)
    reach = history_windows(settings) * window
    past = list(history)
    decisions: list[Decision] = []
    for count in counts:
        if state is None:
            state = CusumState(theme=count.theme)
        lo = count.window_start - reach
        while past and past[0].window_start < lo:  # windows too old for any baseline from here on
            past.pop(0)
        state, ds = evaluate_window(past, count, state, settings)
        past.append(count)
        decisions.extend(ds)
    if state is None:
        raise InputError("fold_windows needs at least one window or a starting state")
    return state, decisions


def run_series(counts: Sequence[WindowCount], settings: SignalSettings) -> list[Decision]:
    """Every decision for every theme in ``counts``, from scratch, sorted by window, theme and direction."""
    by_theme: dict[str, list[WindowCount]] = {}
    for c in counts:
        by_theme.setdefault(c.theme, []).append(c)
    out: list[Decision] = []
    for theme, series in by_theme.items():
        series.sort(key=lambda c: c.window_start)
        for a, b in pairwise(series):
            if a.window_start == b.window_start:
                raise InputError(f"theme {theme!r} has two windows starting at {a.window_start.isoformat()}")
        out.extend(fold_windows(series, settings)[1])
    out.sort(key=lambda d: (d.window_start, d.theme, _DIRECTION_ORDER[d.direction]))
    return out
