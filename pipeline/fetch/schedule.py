"""When to poll a feed next: pure scheduling math, no clock of its own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pipeline.fetch.settings import FetchSettings

# 2**62 times any positive interval is past every cap; bounding the exponent keeps the float math finite.
_MAX_EXPONENT = 62


class RandomSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1), such as :class:`random.Random`."""

    def random(self) -> float: ...


def backoff_delay(*, interval: timedelta, error_count: int, settings: FetchSettings, rng: RandomSource) -> timedelta:
    """The wait after the ``error_count``-th consecutive failure.

    ``interval * 2**(error_count - 1)`` (the first failure waits one normal interval), capped at
    ``settings.backoff_max``, then shortened at random by up to ``settings.backoff_jitter`` of itself
    so that feeds which failed together do not retry together.  A feed is never given up on: the
    delay stops growing at the cap.
    """
    exponent = min(max(error_count, 1) - 1, _MAX_EXPONENT)
    cap = settings.backoff_max.total_seconds()
    base = min(interval.total_seconds() * 2.0**exponent, cap)
    jitter = settings.backoff_jitter * min(max(rng.random(), 0.0), 1.0)
    return timedelta(seconds=base * (1.0 - jitter))


def next_poll_at(
    *,
    now: datetime,
    interval: timedelta,
    error_count: int,
    retry_after: float | None,
    ok: bool,
    settings: FetchSettings,
    rng: RandomSource,
) -> datetime:
    """The time a feed should next be polled, given how its last fetch went.

    ``ok``: the fetch succeeded (a 200 or a 304); the next poll is ``now + interval``.
    ``error_count``: consecutive failures including this one (used only when ``ok`` is False).
    ``retry_after``: the server's Retry-After in seconds, if any; the next poll is never earlier
    than it, except that it is capped at ``settings.backoff_max`` so a server cannot silence a
    feed for longer than that.  The result is never before ``now``.
    """
    if interval <= timedelta(0):
        raise ValueError(f"poll interval must be positive, got {interval}")
    delay = interval if ok else backoff_delay(interval=interval, error_count=error_count, settings=settings, rng=rng)
    if retry_after is not None and retry_after > 0:
        # min() on floats first: timedelta() overflows on absurd header values.
        wanted = timedelta(seconds=min(retry_after, settings.backoff_max.total_seconds()))
        delay = max(delay, wanted)
    return now + delay
