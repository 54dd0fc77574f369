"""Themes with almost no baseline hits: an exact-tail rule needing hits from several sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scipy import stats  # type: ignore[import-untyped]

from pipeline.signals import Decision, SignalSettings, WindowCount, run_series
from pipeline.signals.stats import upper_tail

T0 = datetime(2018, 1, 1, tzinfo=UTC)


def win(i: int, x: int, sources: int | None = None, n: int = 100) -> WindowCount:
    return WindowCount(
        "rare", T0 + timedelta(days=i), T0 + timedelta(days=i + 1), x, n, min(x, 3) if sources is None else sources
    )


def quiet(k: int = 40) -> list[WindowCount]:
    return [win(i, 1 if i == 20 else 0) for i in range(k)]  # one hit in 40 windows


def last(counts: list[WindowCount], direction: str = "rise") -> Decision:
    return [d for d in run_series(counts, SignalSettings()) if d.direction == direction][-1]


def test_three_hits_from_three_sources_fire() -> None:
    d = last([*quiet(), win(40, 3, sources=3)])
    assert d.method == "sparse" and d.level == "alert"
    floor = (1 + 0.5) / (2800 + 1)  # one hit in the 28 baseline windows, +0.5 pseudo-count
    assert d.p0 == pytest.approx(floor)
    assert d.explanation is not None
    # A single baseline hit shows no overdispersion to speak of: the tail is (all but) the exact binomial one.
    assert d.phi is not None and d.phi < 1.05
    assert d.explanation.p_value == pytest.approx(upper_tail(3, 100, floor, d.phi))
    assert d.explanation.p_value == pytest.approx(float(stats.binom.sf(2, 100, floor)), rel=0.05)
    assert d.explanation.p_value < 1e-4
    assert d.onset == d.window_start


def test_three_hits_from_one_source_do_not() -> None:
    d = last([*quiet(), win(40, 3, sources=1)])
    assert d.method == "sparse" and d.level == "watch"
    assert d.note == "hits from 1 source(s); an alert needs 3"
    assert last([*quiet(), win(40, 2, sources=2)]).level == "none"


def test_a_zero_baseline_still_gives_a_positive_p_value() -> None:
    d = last([*[win(i, 0) for i in range(40)], win(40, 3, sources=3)])
    assert d.p0 == pytest.approx(0.5 / 2801)
    assert d.explanation is not None and 0.0 < d.explanation.p_value < 1e-4
    assert d.level == "alert"


def test_fall_is_not_evaluated_for_sparse_themes() -> None:
    d = last([*quiet(), win(40, 0)], "fall")
    assert d.method == "none" and d.level == "none" and d.s == 0.0
    assert d.note == "fall is not evaluated for sparse themes"


def test_a_second_burst_inside_the_episode_is_suppressed() -> None:
    ds = [d for d in run_series([*quiet(), win(40, 3), win(41, 4)], SignalSettings()) if d.direction == "rise"]
    assert ds[-2].level == "alert"
    assert ds[-1].level == "watch" and ds[-1].suppressed and ds[-1].in_episode


def test_sparse_is_decided_from_hits_per_window() -> None:
    # 14 hits in 28 windows is 0.5 a window: not sparse; 13 is.
    def counts(hits: int) -> list[WindowCount]:
        return [win(i, 1 if i >= 40 - hits - 2 and i < 38 else 0) for i in range(40)]

    assert last([*counts(14), win(40, 1)]).method == "cusum"
    assert last([*counts(13), win(40, 1)]).method == "sparse"


def test_bursty_quiet_themes_are_judged_with_their_overdispersion() -> None:
    # Hits in pairs, then a quiet month: p0 (28 windows) is tiny, the dispersion (84 windows) shows the pairs.
    bursty = [win(i, 2 if i % 5 == 0 else 0) for i in range(50)] + [win(i, 1 if i == 60 else 0) for i in range(50, 80)]
    d = last([*bursty, win(80, 3, sources=3)])
    assert d.method == "sparse" and d.phi is not None and d.phi > 1.5
    assert d.p0 is not None and d.p0 == pytest.approx(1.5 / 2801)
    # Three hits would pass a binomial tail, but not for a theme that comes in bursts.
    assert float(stats.binom.sf(2, 100, d.p0)) < 1e-4 <= upper_tail(3, 100, d.p0, d.phi)
    assert d.level != "alert"


def test_a_sustained_burst_is_one_episode_and_one_alert() -> None:
    """While the windows keep showing the shift the episode stays open: one alert, not one every few windows.
    (tests/core/test_detect_replay.py checks the same end to end, where the windows stay significant.)"""
    burst = [win(40 + i, 5) for i in range(10)]
    ds = [d for d in run_series([*quiet(), *burst], SignalSettings()) if d.direction == "rise"]
    assert [d.level for d in ds[-10:]].count("alert") == 1
    assert all(d.in_episode for d in ds[-10:])
