"""next_poll_at: pure scheduling math, checked as properties."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.fetch import FetchSettings, backoff_delay, next_poll_at

NOW = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
SETTINGS = FetchSettings()  # 30 min interval, 24 h cap, 10 % jitter
HOUR = timedelta(hours=1)


class Fixed:
    """A random source that always draws the same value."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


intervals = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=2))
error_counts = st.integers(min_value=0, max_value=10_000)
retry_afters = st.none() | st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
draws = st.floats(min_value=0.0, max_value=0.999999)
settings_strategy = st.builds(
    FetchSettings,
    backoff_max=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=7)),
    backoff_jitter=st.floats(min_value=0.0, max_value=0.9),
)


def expected_base(interval: timedelta, error_count: int, settings: FetchSettings) -> float:
    return min(interval.total_seconds() * 2.0 ** min(max(error_count, 1) - 1, 62), settings.backoff_max.total_seconds())


@given(interval=intervals, error_count=error_counts, retry_after=retry_afters, ok=st.booleans(), draw=draws,
       settings=settings_strategy)  # fmt: skip
def test_never_before_now(
    interval: timedelta, error_count: int, retry_after: float | None, ok: bool, draw: float, settings: FetchSettings
) -> None:
    when = next_poll_at(now=NOW, interval=interval, error_count=error_count, retry_after=retry_after, ok=ok,
                        settings=settings, rng=Fixed(draw))  # fmt: skip
    assert when > NOW


@given(interval=intervals, error_count=error_counts)
def test_success_polls_after_exactly_one_interval(interval: timedelta, error_count: int) -> None:
    when = next_poll_at(now=NOW, interval=interval, error_count=error_count, retry_after=None, ok=True,
                        settings=SETTINGS, rng=random.Random(1))  # fmt: skip
    assert when == NOW + interval


@given(interval=intervals, error_count=error_counts, draw=draws, settings=settings_strategy)
def test_backoff_jitter_is_bounded(interval: timedelta, error_count: int, draw: float, settings: FetchSettings) -> None:
    delay = backoff_delay(interval=interval, error_count=error_count, settings=settings, rng=Fixed(draw))
    base = expected_base(interval, error_count, settings)
    assert base * (1 - settings.backoff_jitter) - 1e-6 <= delay.total_seconds() <= base + 1e-6
    assert delay <= settings.backoff_max


@given(interval=intervals, draw=draws, settings=settings_strategy)
def test_backoff_grows_then_caps(interval: timedelta, draw: float, settings: FetchSettings) -> None:
    delays = [backoff_delay(interval=interval, error_count=n, settings=settings, rng=Fixed(draw)) for n in range(1, 80)]
    assert delays == sorted(delays)  # never shrinks as failures accumulate
    cap = settings.backoff_max.total_seconds() * (1 - settings.backoff_jitter * draw)
    assert delays[-1].total_seconds() == pytest.approx(cap)  # reached the cap and stays there
    assert all(d <= settings.backoff_max for d in delays)


def test_backoff_schedule_with_defaults() -> None:
    no_jitter = Fixed(0.0)
    delays = [backoff_delay(interval=timedelta(minutes=30), error_count=n, settings=SETTINGS, rng=no_jitter)
              for n in range(1, 9)]  # fmt: skip
    minutes = [d.total_seconds() / 60 for d in delays]
    assert minutes == [30, 60, 120, 240, 480, 960, 1440, 1440]  # doubles, then 24 h


def test_failing_feed_is_never_dropped() -> None:
    when = next_poll_at(now=NOW, interval=timedelta(minutes=30), error_count=10**9, retry_after=None, ok=False,
                        settings=SETTINGS, rng=random.Random(3))  # fmt: skip
    assert NOW < when <= NOW + SETTINGS.backoff_max


def test_jitter_spreads_feeds_that_failed_together() -> None:
    rng = random.Random(42)
    times = {next_poll_at(now=NOW, interval=HOUR, error_count=3, retry_after=None, ok=False, settings=SETTINGS,
                          rng=rng) for _ in range(50)}  # fmt: skip
    assert len(times) > 40
    assert all(NOW + 4 * HOUR * 0.9 <= t <= NOW + 4 * HOUR for t in times)


@given(interval=intervals, error_count=error_counts, ok=st.booleans(), draw=draws,
       retry_after=st.floats(min_value=0, max_value=1e9, allow_nan=False))  # fmt: skip
def test_retry_after_is_honoured_up_to_the_cap(
    interval: timedelta, error_count: int, ok: bool, draw: float, retry_after: float
) -> None:
    when = next_poll_at(now=NOW, interval=interval, error_count=error_count, retry_after=retry_after, ok=ok,
                        settings=SETTINGS, rng=Fixed(draw))  # fmt: skip
    honoured = min(timedelta(seconds=retry_after), SETTINGS.backoff_max)
    assert when >= NOW + honoured - timedelta(microseconds=1)
    without = next_poll_at(now=NOW, interval=interval, error_count=error_count, retry_after=None, ok=ok,
                           settings=SETTINGS, rng=Fixed(draw))  # fmt: skip
    assert abs(when - max(without, NOW + honoured)) <= timedelta(microseconds=1)  # the later of the two


def test_retry_after_examples() -> None:
    def poll(retry_after: float | None, ok: bool = False) -> timedelta:
        when = next_poll_at(now=NOW, interval=timedelta(minutes=30), error_count=1, retry_after=retry_after, ok=ok,
                            settings=SETTINGS, rng=Fixed(0.0))  # fmt: skip
        return when - NOW

    assert poll(None) == timedelta(minutes=30)
    assert poll(7200) == timedelta(hours=2)  # later than the backoff: Retry-After wins
    assert poll(60) == timedelta(minutes=30)  # earlier than the backoff: backoff wins
    assert poll(10 * 86400) == timedelta(hours=24)  # capped
    assert poll(float("inf")) == timedelta(hours=24)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        next_poll_at(now=NOW, interval=timedelta(0), error_count=0, retry_after=None, ok=True, settings=SETTINGS,
                     rng=Fixed(0.0))  # fmt: skip
