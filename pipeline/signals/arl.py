"""In-control average run length (ARL0) of the detectors, and the false-alarm rate in plain words.

The CUSUM's ARL0 is computed with the Markov-chain approximation of Brook and Evans (1972): the statistic's
range [0, h) is cut into a fine grid (a landing point's probability split between its two neighbours), the
transition matrix over the grid is built from the exact in-control
distribution of one window's increment, and the expected number of steps to absorption at h is solved for.
The in-control counts are beta-binomial with mean p0 and variance phi times the binomial one, each window's
volume (and the phi the detector gives it) drawn from the baseline's own windows. The baseline is
taken as known: the bench (bench/bench_arl.py) measures how much estimating it from 28 windows costs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from pipeline.signals.stats import (
    betabinom_params,
    betabinom_pmf,
    binom_pmf,
    clamp_p,
    design_p1,
    llr_coefficients,
    upper_tail,
)

GRID = 400  # grid points on [0, h): within about 1% of a finer grid, and of Monte Carlo (see the tests)
_TAIL = 1e-13  # count values with less in-control probability than this are dropped


def count_pmf(n: int, p: float, phi: float) -> tuple[np.ndarray, np.ndarray]:
    """(x values, probabilities) of the in-control count in a window of volume n (tiny tails trimmed)."""
    p = clamp_p(p)
    xs = np.arange(n + 1)
    ab = betabinom_params(n, p, phi)
    pmf = binom_pmf(xs.astype(float), n, p) if ab is None else betabinom_pmf(xs.astype(float), n, *ab)
    keep = pmf > _TAIL
    return xs[keep], pmf[keep]


def arl0_cusum(p0: float, phi: float, volumes: Sequence[int], h: float, ratio: float) -> float:
    """ARL0 in windows of the CUSUM tuned to p1 = design_p1(p0, ratio), one phi for every window."""
    return arl0_cusum_mixture(p0, [(int(v), phi) for v in volumes], h, ratio)


def arl0_cusum_mixture(p0: float, windows: Sequence[tuple[int, float]], h: float, ratio: float) -> float:
    """ARL0 in windows from S = 0, each window's (volume, phi) drawn at random from ``windows``.

    Counts are beta-binomial with mean p0 and variance phi times binomial; the increment is LLR / phi, as
    the detector computes it.
    """
    counts = Counter((int(n), round(phi, 4)) for n, phi in windows if n > 0)
    if not counts:
        return math.inf
    key = tuple(sorted(counts.items()))
    return _arl0_cusum(round(p0, 7), key, round(h, 6), round(ratio, 6))


@lru_cache(maxsize=512)
def _arl0_cusum(p0: float, windows: tuple[tuple[tuple[int, float], int], ...], h: float, ratio: float) -> float:
    a, b = llr_coefficients(p0, design_p1(p0, ratio))
    width = h / GRID
    grid = np.arange(GRID) * width
    total = sum(c for _, c in windows)
    zs, ws = [], []
    for (n, phi), c in windows:  # one increment distribution per (volume, phi), weighted by its frequency
        xs, pmf = count_pmf(n, p0, phi)
        zs.append((a * xs + b * n) / phi)
        ws.append(pmf * (c / total))
    z, w = np.concatenate(zs), np.concatenate(ws)
    new = np.maximum(grid[:, None] + z[None, :], 0.0)  # every grid point against every increment
    # Each landing point's probability is split between its two neighbouring grid points (keeping the mean),
    # which avoids the drift that rounding small steps would add; mass reaching h is absorbed.
    pos = new / width
    low = np.floor(pos)
    frac = pos - low
    low_i = low.astype(np.int64)
    rows = np.broadcast_to(np.arange(GRID)[:, None], new.shape)
    weights = np.broadcast_to(w[None, :], new.shape)
    trans = np.zeros(GRID * GRID)
    for idx, share in ((low_i, 1.0 - frac), (low_i + 1, frac)):
        keep = idx < GRID
        trans += np.bincount((rows * GRID + idx)[keep], weights=(weights * share)[keep], minlength=GRID * GRID)
    matrix = np.eye(GRID) - trans.reshape(GRID, GRID)
    try:
        run = np.linalg.solve(matrix, np.ones(GRID))
    except np.linalg.LinAlgError:  # absorption (practically) impossible
        return math.inf
    value = float(run[0])
    return value if value > 0 and math.isfinite(value) else math.inf


def arl0_sparse(p0_floor: float, windows: Sequence[tuple[int, float]], min_hits: int, p_value: float) -> float:
    """ARL0 in windows of the sparse rule, each window's (volume, phi) drawn from ``windows``.

    A window alerts with the in-control chance of reaching the smallest count (at least ``min_hits``) whose
    upper tail is below ``p_value``, counts beta-binomial at the p0 floor with that phi (binomial at phi 1).
    The distinct-source condition is ignored, so this is a lower bound.
    """
    pairs = [(int(v), phi) for v, phi in windows if v > 0]
    if not pairs:
        return math.inf
    probs = [_sparse_alarm_probability(p0_floor, v, phi, min_hits, p_value) for v, phi in pairs]
    mean = sum(probs) / len(probs)
    return math.inf if mean <= 0 else 1.0 / mean


def sparse_threshold(p0: float, n: int, min_hits: int, p_value: float, phi: float = 1.0) -> int | None:
    """Smallest x >= min_hits with P(X >= x) < p_value (see ``stats.upper_tail``); None when none exists."""
    if n < min_hits:
        return None
    # A first guess from the inverse binomial CDF (the loops below settle the exact x, phi included).
    guess = float(special.bdtrik(1.0 - p_value, n, clamp_p(p0)))
    x = max(min_hits, int(guess) if math.isfinite(guess) else min_hits)
    while x <= n and upper_tail(x, n, p0, phi) >= p_value:
        x += 1
    while x - 1 >= min_hits and upper_tail(x - 1, n, p0, phi) < p_value:
        x -= 1
    return x if x <= n else None


def _sparse_alarm_probability(p0: float, n: int, phi: float, min_hits: int, p_value: float) -> float:
    x = sparse_threshold(p0, n, min_hits, p_value, phi)
    return 0.0 if x is None else upper_tail(x, n, p0, phi)


def describe_false_alarm_rate(arl0_windows: float, window_hours: float) -> str:
    """'about once in 13 months for this theme and direction' from an ARL0 in windows."""
    suffix = "for this theme and direction"
    if not math.isfinite(arl0_windows) or arl0_windows * window_hours / 24.0 > 365.25 * 1000:
        return f"practically never (less than once in 1000 years) {suffix}"
    days = arl0_windows * window_hours / 24.0
    if days < 1.0:
        hours = max(1, round(days * 24.0))
        return f"about once in {_plural(hours, 'hour')} {suffix}"
    if days < 14:
        return f"about once in {_plural(round(days), 'day')} {suffix}"
    if days < 61:
        return f"about once in {_plural(round(days / 7.0), 'week')} {suffix}"
    if days < 730:
        return f"about once in {_plural(round(days / 30.44), 'month')} {suffix}"
    years = days / 365.25
    return f"about once in {_plural(round(years), 'year')} {suffix}"


def _plural(k: int, unit: str) -> str:
    return f"{k} {unit}" if k == 1 else f"{k} {unit}s"
