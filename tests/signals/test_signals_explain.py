"""Explanations: every number an analyst needs, JSON-ready, and a false-alarm rate that is roughly right."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.signals import SignalSettings, WindowCount, arl0_cusum, describe_false_alarm_rate, run_series
from pipeline.signals.stats import design_p1, llr_coefficients, poisson_ratio_interval, wilson_interval

T0 = datetime(2018, 1, 1, tzinfo=UTC)


def win(i: int, x: int, n: int = 100, raw_x: int | None = None) -> WindowCount:
    return WindowCount(
        "returning_fighters",
        T0 + timedelta(days=i),
        T0 + timedelta(days=i + 1),
        x,
        n,
        min(x, 4),
        raw_x=raw_x,
        raw_n=n + 20,
    )


def test_an_alert_explains_itself() -> None:
    counts = [win(i, 5) for i in range(40)] + [win(40, 12, raw_x=15), win(41, 12, raw_x=14)]
    alert = run_series(counts, SignalSettings())[-2]
    assert alert.level == "alert" and alert.direction == "rise"
    e = alert.explanation
    assert e is not None
    assert (e.theme, e.direction, e.level, e.method) == ("returning_fighters", "rise", "alert", "cusum")
    assert e.onset == T0 + timedelta(days=40)
    assert e.observed_since_onset == 24 and e.expected_since_onset == pytest.approx(10.0)
    assert e.ratio == pytest.approx(2.4)
    assert e.ratio_interval == pytest.approx(poisson_ratio_interval(24, 10.0))
    assert "Garwood" in e.ratio_method
    assert (e.window_x, e.window_n) == (12, 100) and e.window_proportion == pytest.approx(0.12)
    assert e.window_interval == pytest.approx(wilson_interval(12, 100))
    assert e.baseline_proportion == pytest.approx(0.05)
    assert e.baseline_interval == pytest.approx(wilson_interval(140, 2800))
    assert (e.baseline_first, e.baseline_last, e.baseline_windows) == (
        T0 + timedelta(days=11),
        T0 + timedelta(days=38),
        28,
    )
    assert e.volume == 100 and e.baseline_mean_volume == pytest.approx(100.0) and e.volume_ratio == pytest.approx(1.0)
    assert e.phi == 1.0 and e.s == pytest.approx(alert.s) and e.h == 6.0
    assert e.p_value == pytest.approx(0.004274, rel=1e-3)  # P(X >= 12), X ~ Bin(100, 0.05)
    assert e.arl0_windows == pytest.approx(arl0_cusum(0.05, 1.0, [100] * 28, 6.0, 2.0))
    assert e.false_alarm_rate.startswith("about once in ") and e.false_alarm_rate.endswith(
        "for this theme and direction"
    )
    assert "Brook-Evans" in e.arl0_method
    assert (e.raw_x, e.raw_n, e.sources) == (14, 120, 4)
    assert e.top_articles == ()
    assert e.summary.startswith("returning_fighters rise (alert): 24 hits since 2018-02-10 vs 10.0 expected (2.40x")
    data = json.loads(json.dumps(e.to_dict()))
    assert data["onset"] == "2018-02-10T00:00:00+00:00"
    assert data["ratio_interval"] == pytest.approx(list(e.ratio_interval or ()))
    assert data["top_articles"] == []


@pytest.mark.parametrize(
    ("windows", "hours", "text"),
    [
        (395, 24, "about once in 13 months for this theme and direction"),
        (1, 24, "about once in 1 day for this theme and direction"),
        (30, 24, "about once in 4 weeks for this theme and direction"),
        (3000, 24, "about once in 8 years for this theme and direction"),
        (12, 1, "about once in 12 hours for this theme and direction"),
        (math.inf, 24, "practically never (less than once in 1000 years) for this theme and direction"),
    ],
)
def test_false_alarm_rate_in_plain_words(windows: float, hours: int, text: str) -> None:
    assert describe_false_alarm_rate(windows, hours) == text


@pytest.mark.parametrize(("p0", "n", "ratio"), [(0.05, 60, 2.0), (0.1, 40, 0.5)])
def test_markov_chain_arl0_agrees_with_a_monte_carlo(p0: float, n: int, ratio: float) -> None:
    h = 4.0  # short runs keep the simulation quick; the approximation does not depend on h being large
    a, b = llr_coefficients(p0, design_p1(p0, ratio))
    rng = np.random.default_rng(11)
    reps, steps = 4000, 3000
    s = np.zeros(reps)
    run = np.full(reps, steps)
    alive = np.ones(reps, dtype=bool)
    for t in range(steps):
        s = np.maximum(0.0, s + a * rng.binomial(n, p0, reps) + b * n)
        hit = alive & (s >= h)
        run[hit] = t + 1
        alive &= ~hit
        if not alive.any():
            break
    assert not alive.any()
    assert arl0_cusum(p0, 1.0, [n], h, ratio) == pytest.approx(run.mean(), rel=0.06)


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="watch"):
        SignalSettings(h=2.0, watch=2.5)
    with pytest.raises(ValidationError, match="min_baseline_windows"):
        SignalSettings(min_baseline_windows=30)
    with pytest.raises(ValidationError):
        SignalSettings(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SignalSettings(fall_ratio=1.5)
