"""One window of detection for one theme: two one-sided binomial CUSUMs, the sparse rule, alert episodes.

``evaluate_window`` is a pure function of the theme's earlier windows, its current window, its state and the
settings; it returns the next state and one ``Decision`` per direction. See ``fold.run_series`` for the fold.

Per direction, with p0 and phi from the trailing baseline and p1 = rise_ratio * p0 (or fall_ratio * p0):
``S = max(0, S + LLR(x, n; p1 vs p0) / phi)``; watch from ``watch``, alert from ``h``. At an alert S resets to 0
and an episode opens (onset: the window where S last left zero). While the episode lasts, the CUSUM keeps
running but is capped at h and cannot alert again; the episode closes once S is back at 0 after at least
``episode_min_windows`` windows, or after ``episode_max_windows``. Its windows, from the onset on, are left out
of every later baseline; an episode still going after ``episode_max_windows`` is taken as the new level
instead (its windows join later baselines and the CUSUM restarts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from pipeline.errors import InputError
from pipeline.signals.baseline import Baseline, baseline_range, compute_baseline
from pipeline.signals.explain import RunTotals, build_explanation
from pipeline.signals.health import HealthCheck, check_health
from pipeline.signals.settings import SignalSettings
from pipeline.signals.stats import design_p1, llr, upper_tail
from pipeline.signals.types import (
    DIRECTIONS,
    CusumState,
    Decision,
    Direction,
    DirectionState,
    Level,
    Method,
    Span,
    WindowCount,
)


@dataclass(frozen=True, slots=True)
class _Step:
    """What one direction's update produced, before it is turned into a Decision."""

    state: DirectionState
    level: Level
    method: Method
    s: float  # the statistic in this window, before a reset
    run: RunTotals
    suppressed: bool = False
    p0: float | None = None
    phi: float | None = None
    note: str = ""
    # The sparse rule has no S to drain: while its windows still show the shift, the episode stays open
    # (otherwise a sustained burst would close and re-open an episode, and alert, every few windows).
    holds_episode: bool = False


def evaluate_window(
    history: Sequence[WindowCount],
    current: WindowCount,
    state: CusumState,
    settings: SignalSettings,
) -> tuple[CusumState, list[Decision]]:
    """Evaluate ``current`` for its theme; ``history`` holds that theme's earlier windows (extra ones are ignored).

    Raises InputError when the window belongs to another theme or does not come after the state's last window.
    """
    if current.theme != state.theme:
        raise InputError(f"window of theme {current.theme!r} evaluated with the state of {state.theme!r}")
    if state.last_window_start is not None and current.window_start <= state.last_window_start:
        raise InputError(
            f"theme {current.theme!r}: window {current.window_start.isoformat()} does not come after the last "
            f"evaluated one ({state.last_window_start.isoformat()})"
        )
    base = compute_baseline(history, current, state.exclusions(), settings)
    health = check_health(current, base.mean_volume, settings.health)
    excluded = list(state.excluded)
    decisions: list[Decision] = []
    new_state = state
    for direction in DIRECTIONS:
        prior = state.direction(direction)
        if prior.in_episode:
            prior = replace(prior, episode_windows=prior.episode_windows + 1)
        if not base.sufficient:
            step = _hold(prior, f"insufficient baseline: {base.windows} of {settings.min_baseline_windows} windows")
        elif base.sparse and direction == "fall":
            step = _hold(replace(_cleared(prior), s=0.0), "fall is not evaluated for sparse themes")
        elif base.sparse:
            step = _sparse_step(prior, current, base, settings)
        else:
            step = _cusum_step(direction, prior, current, base, settings)
        st = step.state
        in_episode = st.in_episode
        if st.in_episode and st.episode_windows > 0:
            st, closed, note = _close_episode(st, current, settings, holds=step.holds_episode)
            if closed is not None:
                excluded.append(closed)
            if note:
                step = replace(step, note="; ".join(t for t in (step.note, note) if t))
        new_state = new_state.with_direction(direction, st)
        decisions.append(_decision(direction, current, step, in_episode, base, health, settings))
    keep_from = baseline_range(current.window_start + timedelta(hours=settings.window_hours), settings)[0]
    kept = tuple(sp for sp in excluded if sp.end is None or sp.end > keep_from)
    return replace(new_state, excluded=kept, last_window_start=current.window_start), decisions


def _close_episode(
    st: DirectionState, current: WindowCount, settings: SignalSettings, *, holds: bool = False
) -> tuple[DirectionState, Span | None, str]:
    """Close the open episode if it is over: (state, span to exclude from baselines, note).

    Back at S == 0 (after the minimum length), the shift has ended: its windows, onset to now, stay out of
    later baselines. Still going after ``episode_max_windows``, the shift is taken as the new level: the
    episode's windows enter later baselines and the CUSUM restarts from 0.
    """
    closed = replace(st, episode_onset=None, episode_alert=None, episode_windows=0)
    if st.episode_windows >= settings.episode_max_windows:
        note = f"episode closed after {st.episode_windows} windows: the new level becomes the baseline"
        return replace(_cleared(closed), s=0.0), None, note
    if st.episode_windows >= settings.episode_min_windows and st.s == 0.0 and not holds:
        assert st.episode_onset is not None
        return closed, Span(st.episode_onset, current.window_end), "episode closed: back to baseline"
    return st, None, ""


def _cleared(st: DirectionState) -> DirectionState:
    return replace(st, run_start=None, run_x=0, run_n=0, run_expected=0.0)


def _hold(st: DirectionState, note: str) -> _Step:
    """No decision: the state is carried over unchanged."""
    return _Step(state=st, level="none", method="none", s=st.s, run=RunTotals(None, 0, 0.0), note=note)


def _advance_run(st: DirectionState, s: float, current: WindowCount, expected: float) -> DirectionState:
    """Track the current run: where S last left zero, and what was observed and expected since."""
    if s <= 0.0:
        return replace(_cleared(st), s=0.0)
    if st.run_start is None or st.s <= 0.0:
        return replace(st, s=s, run_start=current.window_start, run_x=current.x, run_n=current.n, run_expected=expected)
    return replace(
        st, s=s, run_x=st.run_x + current.x, run_n=st.run_n + current.n, run_expected=st.run_expected + expected
    )


def _cusum_step(
    direction: Direction, prior: DirectionState, current: WindowCount, base: Baseline, settings: SignalSettings
) -> _Step:
    ratio = settings.rise_ratio if direction == "rise" else settings.fall_ratio
    p0, phi = base.p0, base.phi_for(current.n)
    z = llr(current.x, current.n, p0, design_p1(p0, ratio)) / phi
    s = max(0.0, prior.s + z)
    st = _advance_run(prior, s, current, current.n * p0)
    run = RunTotals(st.run_start, st.run_x, st.run_expected)
    if prior.in_episode:
        # Inside an episode the CUSUM keeps running, capped at h, so that it drains soon after the shift ends.
        suppressed = s >= settings.h
        st = replace(st, s=min(s, settings.h))
        level: Level = "watch" if s >= settings.watch else "none"
        note = "inside an alert episode: no new alert" if suppressed else ""
        return _Step(st, level, "cusum", s, run, suppressed=suppressed, p0=p0, phi=phi, note=note)
    if s >= settings.h:
        opened = replace(
            _cleared(st), s=0.0, episode_onset=st.run_start, episode_alert=current.window_start, episode_windows=0
        )
        return _Step(opened, "alert", "cusum", s, run, p0=p0, phi=phi)
    level = "watch" if s >= settings.watch else "none"
    return _Step(st, level, "cusum", s, run, p0=p0, phi=phi)


def _sparse_step(prior: DirectionState, current: WindowCount, base: Baseline, settings: SignalSettings) -> _Step:
    """Rise of a sparse theme: enough hits, from enough sources, with an exact tail below the threshold.

    The tail is binomial at the p0 floor, or beta-binomial when the theme's dispersion (estimated over
    ``dispersion_windows``) shows overdispersion: news comes in bursts, and a binomial tail would take every
    burst of a quiet theme for a trend.
    """
    sp = settings.sparse
    p = base.p0_floor
    phi = base.phi_for(current.n)
    st = replace(_cleared(prior), s=0.0)
    run = RunTotals(current.window_start, current.x, current.n * p)
    tail = upper_tail(current.x, current.n, p, phi)
    significant = current.x >= sp.min_hits and tail < sp.p_value
    fires = significant and current.sources >= sp.min_sources
    if prior.in_episode:
        note = "inside an alert episode: no new alert" if fires else ""
        level: Level = "watch" if significant else "none"
        holds = current.x >= sp.min_hits and tail < sp.watch_p_value
        return _Step(st, level, "sparse", 0.0, run, suppressed=fires, p0=p, phi=phi, note=note, holds_episode=holds)
    if fires:
        opened = replace(st, episode_onset=current.window_start, episode_alert=current.window_start, episode_windows=0)
        return _Step(opened, "alert", "sparse", 0.0, run, p0=p, phi=phi)
    if current.x >= sp.min_hits and tail < sp.watch_p_value:
        short = current.sources < sp.min_sources
        note = f"hits from {current.sources} source(s); an alert needs {sp.min_sources}" if short else ""
        return _Step(st, "watch", "sparse", 0.0, run, p0=p, phi=phi, note=note)
    return _Step(st, "none", "sparse", 0.0, run, p0=p, phi=phi)


def _decision(
    direction: Direction,
    current: WindowCount,
    step: _Step,
    in_episode: bool,
    base: Baseline,
    health: HealthCheck,
    settings: SignalSettings,
) -> Decision:
    explanation = None
    if step.level != "none":
        explanation = build_explanation(
            current=current,
            direction=direction,
            level=step.level,
            method=step.method,
            baseline=base,
            run=step.run,
            s=step.s,
            health=health,
            settings=settings,
        )
    return Decision(
        theme=current.theme,
        direction=direction,
        window_start=current.window_start,
        window_end=current.window_end,
        level=step.level,
        method=step.method,
        s=step.s,
        h=settings.h,
        p0=step.p0,
        phi=step.phi,
        expected=None if step.p0 is None else current.n * step.p0,
        observed=current.x,
        onset=step.run.onset if step.level != "none" else None,
        in_episode=in_episode,
        suppressed=step.suppressed,
        health_flag=health.flag,
        health_reason=health.reason,
        note=step.note,
        explanation=explanation,
    )
