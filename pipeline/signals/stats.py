"""Small statistical building blocks: log-likelihood ratios, tails, Wilson and Poisson-ratio intervals.

The special functions come from scipy.special (regularized incomplete beta and gamma, log-beta);
scipy.stats, which wraps the same functions, is not imported: it cost every process that detects or
explains (the service, ``pipeline detect``, the review page) 0.37 s of start-up and 46 MB of memory.
Beta-binomial tails are summed over the tail itself (scipy.stats takes the upper one as 1 - CDF, which
loses every digit below 1e-16 and most below 1e-10).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special  # type: ignore[import-untyped]

Z95 = 1.959963984540054  # two-sided 95% normal quantile

# Proportions used inside logarithms stay this far from 0 and 1.
_P_EPS = 1e-9


def clamp_p(p: float) -> float:
    return min(max(p, _P_EPS), 1.0 - _P_EPS)


def design_p1(p0: float, ratio: float) -> float:
    """The alternative proportion a CUSUM is tuned to: ``ratio * p0``.

    For a rise whose doubled proportion would reach 1, the failure odds are scaled instead
    (``1 - (1 - p0) / ratio``), whichever is smaller, so that p0 < p1 < 1 always holds.
    """
    p0 = clamp_p(p0)
    if ratio > 1:
        return clamp_p(min(ratio * p0, 1.0 - (1.0 - p0) / ratio))
    return clamp_p(ratio * p0)


def llr_coefficients(p0: float, p1: float) -> tuple[float, float]:
    """(a, b) with LLR(x, n) = a * x + b * n for Bin(n, p1) against Bin(n, p0)."""
    p0, p1 = clamp_p(p0), clamp_p(p1)
    b = math.log((1.0 - p1) / (1.0 - p0))
    a = math.log(p1 / p0) - b
    return a, b


def llr(x: int, n: int, p0: float, p1: float) -> float:
    """Binomial log-likelihood ratio of p1 against p0 for x hits out of n."""
    a, b = llr_coefficients(p0, p1)
    return a * x + b * n


# Below this intra-window correlation the beta-binomial is the binomial to within 1e-7 of its variance
# (phi = 1.001 at n = 10,000), and its beta parameters (1/rho) grow so large that log-beta differences
# lose every digit (phi = 1 + 2e-16 gave P(X >= 1) = 1.0 for n = 2, p = 0.25; scipy.stats gave 0.0).
_MIN_RHO = 1e-7


def betabinom_params(n: int, p: float, phi: float) -> tuple[float, float] | None:
    """Beta parameters giving variance phi * n p (1 - p) at this n, or None when plain binomial applies."""
    if phi <= 1.0 or n < 2:
        return None
    rho = min((phi - 1.0) / (n - 1.0), 0.999)  # intra-window correlation; phi cannot exceed n
    if rho < _MIN_RHO:
        return None
    scale = 1.0 / rho - 1.0
    p = clamp_p(p)
    return p * scale, (1.0 - p) * scale


def binom_pmf(xs: np.ndarray, n: int, p: float) -> np.ndarray:
    """P(X = x) for each x in ``xs``, X binomial(n, p) with 0 < p < 1 (computed in log space)."""
    log_comb = special.gammaln(n + 1.0) - special.gammaln(xs + 1.0) - special.gammaln(n - xs + 1.0)
    return np.asarray(np.exp(log_comb + xs * math.log(p) + (n - xs) * math.log1p(-p)), dtype=float)


def betabinom_pmf(xs: np.ndarray, n: int, a: float, b: float) -> np.ndarray:
    """P(X = x) for each x in ``xs``, X beta-binomial(n, a, b)."""
    log_comb = -math.log(n + 1.0) - special.betaln(n - xs + 1.0, xs + 1.0)
    return np.asarray(np.exp(log_comb + special.betaln(xs + a, n - xs + b) - special.betaln(a, b)), dtype=float)


def _betabinom_split(x: int, n: int, a: float, b: float) -> tuple[float, float]:
    """(P(X < x), P(X >= x)) for 0 < x <= n: the tail side summed term by term, the other 1 minus it."""
    if x > n * a / (a + b):
        upper = min(float(betabinom_pmf(np.arange(x, n + 1, dtype=float), n, a, b).sum()), 1.0)
        return 1.0 - upper, upper
    lower = min(float(betabinom_pmf(np.arange(0, x, dtype=float), n, a, b).sum()), 1.0)
    return lower, 1.0 - lower


def upper_tail(x: int, n: int, p: float, phi: float = 1.0) -> float:
    """P(X >= x) for X binomial(n, p), or beta-binomial with the same mean and variance phi times binomial."""
    if x <= 0:
        return 1.0
    if x > n:
        return 0.0
    ab = betabinom_params(n, p, phi)
    if ab is None:
        return float(special.bdtrc(x - 1, n, clamp_p(p)))
    return _betabinom_split(x, n, *ab)[1]


def lower_tail(x: int, n: int, p: float, phi: float = 1.0) -> float:
    """P(X <= x), the same model as ``upper_tail``."""
    if x >= n:
        return 1.0
    if x < 0:
        return 0.0
    ab = betabinom_params(n, p, phi)
    if ab is None:
        return float(special.bdtr(x, n, clamp_p(p)))
    return _betabinom_split(x + 1, n, *ab)[0]


def wilson_interval(x: float, n: float, *, z: float = Z95, design_effect: float = 1.0) -> tuple[float, float]:
    """Wilson score interval for the proportion x / n.

    ``design_effect`` (>= 1) shrinks the sample to n / design_effect, the usual way to widen the interval
    for overdispersed counts. With n == 0 nothing is known: (0, 1).
    """
    if n <= 0:
        return 0.0, 1.0
    p = x / n
    m = n / max(design_effect, 1.0)
    z2 = z * z
    denom = 1.0 + z2 / m
    centre = (p + z2 / (2.0 * m)) / denom
    half = z * math.sqrt(p * (1.0 - p) / m + z2 / (4.0 * m * m)) / denom
    # The interval always holds p; rounding must not push a bound past it.
    lo = 0.0 if x <= 0 else min(max(centre - half, 0.0), p)
    hi = 1.0 if x >= n else max(min(centre + half, 1.0), p)
    return lo, hi


def poisson_ratio_interval(
    observed: int, expected: float, *, phi: float = 1.0, level: float = 0.95
) -> tuple[float, float] | None:
    """Interval for observed / expected, expected taken as known.

    The exact (Garwood) Poisson interval for the observed count, computed on the phi-scaled count
    observed / phi (quasi-Poisson: the variance is phi times the mean), then divided by expected / phi.
    With phi == 1 this is the textbook exact interval. None when nothing was expected.
    """
    if expected <= 0:
        return None
    phi = max(phi, 1.0)
    k = observed / phi
    e = expected / phi
    alpha = 1.0 - level
    # The gamma quantile, as scipy.stats.gamma.ppf computes it.
    lo = 0.0 if observed <= 0 else float(special.gammaincinv(k, alpha / 2.0))
    hi = float(special.gammaincinv(k + 1.0, 1.0 - alpha / 2.0))
    return lo / e, hi / e
