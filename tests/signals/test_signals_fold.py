"""run_series is the fold of evaluate_window; resuming from a stored state gives the same decisions."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.signals import (
    CusumState,
    Decision,
    SignalSettings,
    WindowCount,
    evaluate_window,
    fold_windows,
    run_series,
)

T0 = datetime(2018, 1, 1, tzinfo=UTC)


def simulated(theme: str, p: list[float], seed: int) -> list[WindowCount]:
    rng = np.random.default_rng(seed)
    out = []
    for i, pi in enumerate(p):
        n = int(rng.integers(20, 150))
        x = int(rng.binomial(n, pi))
        out.append(
            WindowCount(
                theme,
                T0 + timedelta(days=i),
                T0 + timedelta(days=i + 1),
                x,
                n,
                min(x, 4),
                raw_x=x + int(rng.integers(0, 3)),
                raw_n=n + 5,
            )
        )
    return out


def test_run_series_equals_a_window_by_window_fold() -> None:
    settings = SignalSettings()
    themes = {
        "a": simulated("a", [0.05] * 60 + [0.12] * 30 + [0.05] * 30, 1),
        "b": simulated("b", [0.2] * 70 + [0.08] * 50, 2),
    }
    mixed = [c for pair in zip(themes["a"], themes["b"], strict=True) for c in pair][::-1]  # any order in
    got = run_series(mixed, settings)
    manual: list[Decision] = []
    for theme, counts in themes.items():
        state = CusumState(theme=theme)
        for i, count in enumerate(counts):
            state, ds = evaluate_window(counts[:i], count, state, settings)
            manual.extend(ds)
    key = lambda d: (d.window_start, d.theme, d.direction)  # noqa: E731
    assert sorted(got, key=key) == sorted(manual, key=key)
    assert len(got) == 2 * 240
    assert any(d.level == "alert" for d in got)


def test_resuming_from_a_stored_state_agrees_with_one_run() -> None:
    """What the live service does: store the state as JSON, reload it with the trailing windows, go on."""
    settings = SignalSettings()
    counts = simulated("a", [0.05] * 60 + [0.12] * 30 + [0.05] * 60, 3)
    whole = run_series(counts, settings)
    state, first = fold_windows(counts[:75], settings)
    stored = json.loads(json.dumps(state.to_dict()))
    _, rest = fold_windows(counts[75:], settings, state=CusumState.from_dict(stored), history=counts[:75])
    assert first + rest == whole


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 60)), min_size=1, max_size=70),
    st.sampled_from(["volume", "constant"]),
)
def test_invariants_hold_on_any_series(raw: list[tuple[int, int]], model: str) -> None:
    settings = SignalSettings(dispersion_model=model)
    counts = []
    for i, (n, x) in enumerate(raw):
        x = min(x, n)
        counts.append(WindowCount("t", T0 + timedelta(days=i), T0 + timedelta(days=i + 1), x, n, min(x, 3)))
    ds = run_series(counts, settings)
    assert len(ds) == 2 * len(counts)
    for d in ds:
        assert d.s >= 0.0 and math.isfinite(d.s)
        if d.level == "alert":
            assert d.s >= d.h or d.method == "sparse"
        elif not d.in_episode:
            assert d.s < d.h
        if d.phi is not None:
            assert settings.phi_min <= d.phi <= settings.phi_max
        e = d.explanation
        assert (e is None) == (d.level == "none")
        if e is not None:
            json.dumps(e.to_dict())
            assert 0.0 <= e.p_value <= 1.0
            assert e.window_interval[0] <= (e.window_proportion or 0.0) <= e.window_interval[1]
            assert e.baseline_interval[0] <= e.baseline_proportion <= e.baseline_interval[1]
            if e.ratio is not None and e.ratio_interval is not None:
                assert e.ratio_interval[0] <= e.ratio <= e.ratio_interval[1]
            assert (e.arl0_windows is not None) == (d.level == "alert")
            assert e.arl0_windows is None or e.arl0_windows > 0
