"""The binomial CUSUMs by hand: baseline, guard band, onset, alert episodes, exclusions, phi clipping."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.errors import InputError
from pipeline.signals import CusumState, Decision, SignalSettings, WindowCount, evaluate_window, run_series

T0 = datetime(2018, 1, 1, tzinfo=UTC)


def win(i: int, x: int, n: int = 100, theme: str = "t") -> WindowCount:
    return WindowCount(theme, T0 + timedelta(days=i), T0 + timedelta(days=i + 1), x, n, min(x, 5))


def day(i: int) -> datetime:
    return T0 + timedelta(days=i)


def llr_hand(x: int, n: int, p0: float, p1: float) -> float:
    return x * math.log(p1 / p0) + (n - x) * math.log((1 - p1) / (1 - p0))


def by_direction(ds: list[Decision], direction: str) -> list[Decision]:
    return [d for d in ds if d.direction == direction]


def test_rise_cusum_by_hand() -> None:
    settings = SignalSettings()
    counts = [win(i, 5) for i in range(40)] + [win(40, 12), win(41, 12)]
    rise = by_direction(run_series(counts, settings), "rise")
    fall = by_direction(run_series(counts, settings), "fall")
    # Guard band of 2 and at least 7 baseline windows: window 8 has only 6, window 9 is the first decision.
    assert rise[8].method == "none" and rise[8].note == "insufficient baseline: 6 of 7 windows"
    assert rise[9].method == "cusum" and rise[9].p0 == pytest.approx(0.05)
    # 5 of 100 exactly at p0: every LLR is negative, S stays at 0; no overdispersion, phi is clipped to 1.
    assert all(d.s == 0.0 and d.level == "none" for d in rise[9:40])
    assert rise[39].phi == 1.0
    step = llr_hand(12, 100, 0.05, 0.10)  # 3.5598...
    assert rise[40].s == pytest.approx(step)
    assert rise[40].level == "watch" and rise[40].onset == day(40)
    # Window 40 is inside window 41's guard band: p0 is still exactly 0.05.
    assert rise[41].p0 == pytest.approx(0.05)
    assert rise[41].s == pytest.approx(2 * step)
    assert rise[41].level == "alert" and rise[41].onset == day(40)
    assert rise[41].expected == pytest.approx(5.0) and rise[41].observed == 12
    assert fall[40].s == 0.0 and fall[41].s == 0.0  # max(0, S + negative LLR)


def test_fall_cusum_by_hand_with_the_baseline_moving_past_the_guard_band() -> None:
    counts = [win(i, 5) for i in range(40)] + [win(i, 1) for i in range(40, 46)]
    fall = by_direction(run_series(counts, SignalSettings()), "fall")
    s = 0.0
    for i in range(40, 43):  # the guard band keeps the low windows out of the baseline for two windows
        s = max(0.0, s + llr_hand(1, 100, 0.05, 0.025))
        assert fall[i].s == pytest.approx(s)
    p0 = (27 * 5 + 1) / 2800  # window 43: the baseline now holds window 40
    assert fall[43].p0 == pytest.approx(p0)
    s += llr_hand(1, 100, p0, p0 / 2)
    assert fall[43].s == pytest.approx(s)
    alerts = [d for d in fall if d.level == "alert"]
    assert alerts[0].window_start == day(43) and alerts[0].onset == day(40)


def test_onset_is_where_the_cusum_last_left_zero() -> None:
    counts = [win(i, 5) for i in range(40)] + [win(40, 12), win(41, 0), win(42, 12), win(43, 12), win(44, 12)]
    rise = by_direction(run_series(counts, SignalSettings()), "rise")
    assert rise[40].s > 0 and rise[41].s == 0.0
    alert = next(d for d in rise if d.level == "alert")
    assert alert.onset == day(42)
    last = (alert.window_start - T0).days
    assert alert.explanation is not None
    assert alert.explanation.observed_since_onset == sum(c.x for c in counts[42 : last + 1])


def test_alert_episode_windows_stay_out_of_later_baselines() -> None:
    """Fails if the alert's own windows (from the onset on) leak into a later baseline."""
    counts = [win(i, 5) for i in range(40)] + [win(40, 12), win(41, 12)] + [win(i, 5) for i in range(42, 80)]
    rise = by_direction(run_series(counts, SignalSettings()), "rise")
    assert rise[41].level == "alert"
    # The CUSUM is back at 0 right away; the episode lasts episode_min_windows (2) windows after the alert.
    assert [d.in_episode for d in rise[40:45]] == [False, True, True, True, False]
    assert "episode closed: back to baseline" in rise[43].note
    # Windows 40-43 are skipped and older ones (all 5 of 100) fill the 28: p0 is exactly 0.05 from then on.
    for d in rise[44:80]:
        assert d.p0 == pytest.approx(0.05, abs=1e-15), d.window_start
    # Without the exclusion, windows 40 and 41 would sit in these baselines.
    leaked = (26 * 5 + 12 + 12) / 2800
    assert rise[50].p0 != pytest.approx(leaked)


def test_no_second_alert_while_the_shift_lasts_and_the_new_level_is_then_accepted() -> None:
    settings = SignalSettings()
    counts = [win(i, 5) for i in range(40)] + [win(i, 12) for i in range(40, 130)]
    rise = by_direction(run_series(counts, settings), "rise")
    alerts = [d for d in rise if d.level == "alert"]
    assert [a.window_start for a in alerts] == [day(41)]
    capped = [d for d in rise if d.suppressed]
    assert capped and all(d.level == "watch" and d.note.startswith("inside an alert episode") for d in capped)
    closing = 41 + settings.episode_max_windows
    assert rise[closing].note.endswith("episode closed after 28 windows: the new level becomes the baseline")
    assert rise[closing + 1].in_episode is False
    # The episode's windows now form the baseline: 12 of 100.
    assert rise[-1].p0 == pytest.approx(0.12) and rise[-1].s == 0.0


def test_fixed_length_episodes_when_min_equals_max() -> None:
    settings = SignalSettings(episode_min_windows=5, episode_max_windows=5)
    counts = [win(i, 5) for i in range(40)] + [win(40, 12), win(41, 12)] + [win(i, 5) for i in range(42, 60)]
    rise = by_direction(run_series(counts, settings), "rise")
    assert [d.in_episode for d in rise[41:48]] == [True] * 6 + [False]


@pytest.mark.parametrize("model", ["constant", "volume"])
def test_phi_is_clipped(model: str) -> None:
    wild = [win(i, 0 if i % 2 else 20) for i in range(40)]  # Pearson chi^2/df about 22
    calm = [win(i, 5) for i in range(40)]  # Pearson chi^2/df 0
    for counts, settings, want in [
        (wild, SignalSettings(dispersion_model=model), 10.0),
        (wild, SignalSettings(dispersion_model=model, phi_max=3.0), 3.0),
        (calm, SignalSettings(dispersion_model=model), 1.0),
        (calm, SignalSettings(dispersion_model=model, phi_min=1.5), 1.5),
    ]:
        last = run_series([*counts, win(40, 10)], settings)[-1]
        assert last.method == "cusum"
        assert last.phi == pytest.approx(want)


def test_volume_model_gives_busy_windows_more_dispersion() -> None:
    rng_counts = [win(i, x, n) for i, (x, n) in enumerate([(2, 20), (30, 200), (1, 20), (5, 200)] * 10)]
    settings = SignalSettings()
    small = run_series([*rng_counts, win(40, 1, 20)], settings)[-1]
    big = run_series([*rng_counts, win(40, 10, 200)], settings)[-1]
    assert small.phi is not None and big.phi is not None
    assert 1.0 <= small.phi < big.phi


def test_windows_must_come_in_order_and_belong_to_the_state() -> None:
    settings = SignalSettings()
    state, _ = evaluate_window([], win(0, 5), CusumState(theme="t"), settings)
    with pytest.raises(InputError, match="does not come after"):
        evaluate_window([win(0, 5)], win(0, 5), state, settings)
    with pytest.raises(InputError, match="evaluated with the state of"):
        evaluate_window([], win(1, 5, theme="other"), state, settings)
    with pytest.raises(InputError, match="not before the current one"):
        evaluate_window([win(3, 5)], win(2, 5), state, settings)
    with pytest.raises(InputError, match="two windows starting"):
        run_series([win(0, 5), win(0, 6)], settings)
    with pytest.raises(InputError, match="need 0 <= x <= n"):
        win(0, 7, n=5)


def test_window_counts_are_validated() -> None:
    start, end = T0, T0 + timedelta(days=1)
    WindowCount("t", start, end, 1, 10, 3, raw_x=3)  # one story, syndicated by three sources
    for bad in (
        dict(x=0, sources=1),
        dict(x=2, sources=0),
        dict(x=1, sources=3, raw_x=2),
        dict(x=2, sources=1, raw_x=1),
        dict(x=2, sources=1, x_top_source=3),
    ):
        with pytest.raises(InputError):
            WindowCount("t", start, end, n=10, **bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="timezone-aware"):
        WindowCount("t", datetime(2018, 1, 1), datetime(2018, 1, 2), 0, 1, 0)
    with pytest.raises(InputError, match="after window_start"):
        WindowCount("t", end, start, 0, 1, 0)


def test_state_survives_a_json_round_trip() -> None:
    settings = SignalSettings()
    counts = [win(i, 5) for i in range(40)] + [win(40, 12), win(41, 12), win(42, 9)]
    state = CusumState(theme="t")
    for i, c in enumerate(counts):
        state, _ = evaluate_window(counts[:i], c, state, settings)
    assert state.in_episode
    again = CusumState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    with pytest.raises(InputError, match="malformed"):
        CusumState.from_dict({"theme": "t"})
