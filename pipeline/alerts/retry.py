"""Pure decision after a failed send: retry when, or give up (no clock, no randomness of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What to do with a notification whose attempt failed."""

    outcome: Literal["retry", "dead"]
    next_attempt_at: datetime | None  # None when dead
    reason: str  # the error, with why it stops when dead


def backoff_delay(attempt: int, initial: timedelta, maximum: timedelta, rand: float) -> timedelta:
    """Exponential backoff with "equal jitter": half the delay is fixed, half is random.

    ``attempt`` counts from 1 (the delay after the first failure is about ``initial``); ``rand`` is
    uniform in [0, 1). Jitter keeps many senders that failed together from retrying together.
    """
    exponent = min(max(attempt - 1, 0), 60)  # 2**60 seconds is far past any cap; avoids float overflow
    base = min(maximum.total_seconds(), initial.total_seconds() * 2.0**exponent)
    return timedelta(seconds=base / 2 + base / 2 * min(max(rand, 0.0), 1.0))


def after_failure(
    *,
    error: str,
    permanent: bool,
    retry_after: float | None,
    attempt: int,
    created_at: datetime,
    now: datetime,
    initial: timedelta,
    maximum: timedelta,
    max_age: timedelta,
    rand: float,
) -> RetryDecision:
    """Retry a transient failure with backoff until ``max_age`` after ``created_at``; a permanent one is dead.

    A server's Retry-After is honoured as a lower bound. The last retry is placed at the deadline itself,
    so a notification gets its full ``max_age`` before it is given up.
    """
    if permanent:
        return RetryDecision("dead", None, f"permanent failure: {error}")
    deadline = created_at + max_age
    if now >= deadline:
        hours = max_age.total_seconds() / 3600
        return RetryDecision("dead", None, f"gave up after {attempt} attempts over {hours:g} h: {error}")
    delay = backoff_delay(attempt, initial, maximum, rand)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    return RetryDecision("retry", min(now + delay, deadline), error)
