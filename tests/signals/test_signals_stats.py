"""Statistical building blocks: LLRs, tails, Wilson and Poisson-ratio intervals, against known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]  # the reference (the pipeline itself uses scipy.special)

from pipeline.signals.arl import count_pmf
from pipeline.signals.stats import (
    design_p1,
    llr,
    lower_tail,
    poisson_ratio_interval,
    upper_tail,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("x", "n", "lo", "hi"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score, no correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_interval_matches_published_values(x: int, n: int, lo: float, hi: float) -> None:
    got = wilson_interval(x, n)
    assert got[0] == pytest.approx(lo, abs=6e-5)
    assert got[1] == pytest.approx(hi, abs=6e-5)


def test_wilson_with_design_effect_is_the_interval_of_the_smaller_sample() -> None:
    assert wilson_interval(20, 200, design_effect=2.0) == pytest.approx(wilson_interval(10, 100))
    assert wilson_interval(3, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("observed", "lo", "hi"),
    [(0, 0.0, 3.6889), (1, 0.0253, 5.5716), (10, 4.7954, 18.3904)],  # Garwood exact 95% limits for a count
)
def test_poisson_ratio_interval_is_garwood_over_expected(observed: int, lo: float, hi: float) -> None:
    got = poisson_ratio_interval(observed, 2.0)
    assert got is not None
    assert got[0] == pytest.approx(lo / 2.0, abs=1e-4)
    assert got[1] == pytest.approx(hi / 2.0, abs=1e-4)


def test_poisson_ratio_interval_widens_with_phi_and_needs_an_expectation() -> None:
    plain = poisson_ratio_interval(20, 10.0)
    wide = poisson_ratio_interval(20, 10.0, phi=2.0)
    assert plain is not None and wide is not None
    assert wide[0] < plain[0] < 2.0 < plain[1] < wide[1]
    assert poisson_ratio_interval(3, 0.0) is None


def test_llr_by_hand() -> None:
    # 12 hits out of 100, Bin(100, 0.10) against Bin(100, 0.05).
    expected = 12 * math.log(0.10 / 0.05) + 88 * math.log(0.90 / 0.95)
    assert llr(12, 100, 0.05, 0.10) == pytest.approx(expected, rel=1e-12)
    assert llr(0, 0, 0.05, 0.10) == 0.0


def test_design_p1_doubles_halves_and_stays_below_one() -> None:
    assert design_p1(0.05, 2.0) == pytest.approx(0.10)
    assert design_p1(0.05, 0.5) == pytest.approx(0.025)
    assert design_p1(0.6, 2.0) == pytest.approx(0.8)  # 1 - 0.4 / 2: doubling 0.6 is impossible
    assert 0.9 < design_p1(0.9, 2.0) < 1.0


def test_tails_are_binomial_at_phi_one_and_overdispersed_above() -> None:
    assert upper_tail(9, 80, 0.05) == pytest.approx(float(stats.binom.sf(8, 80, 0.05)))
    assert lower_tail(1, 80, 0.05) == pytest.approx(float(stats.binom.cdf(1, 80, 0.05)))
    # Overdispersion fattens both tails.
    assert upper_tail(9, 80, 0.05, phi=2.0) > upper_tail(9, 80, 0.05)
    assert lower_tail(1, 80, 0.05, phi=2.0) > lower_tail(1, 80, 0.05)


@pytest.mark.parametrize("phi", [1.0, 1.5, 3.0])
def test_beta_binomial_variance_is_phi_times_binomial(phi: float) -> None:
    n, p = 60, 0.07
    xs, pmf = count_pmf(n, p, phi)
    mean = float(np.sum(xs * pmf))
    var = float(np.sum((xs - mean) ** 2 * pmf))
    assert mean == pytest.approx(n * p, rel=1e-6)
    assert var == pytest.approx(phi * n * p * (1 - p), rel=1e-4)


@given(st.integers(0, 500), st.integers(0, 500), st.floats(1.0, 10.0))
def test_wilson_contains_the_point_estimate(a: int, b: int, deff: float) -> None:
    x, n = min(a, b), max(a, b)
    lo, hi = wilson_interval(x, n, design_effect=deff)
    assert 0.0 <= lo <= hi <= 1.0
    if n:
        assert lo <= x / n <= hi


@given(st.integers(0, 400), st.floats(0.01, 300.0), st.floats(1.0, 10.0))
def test_ratio_interval_contains_the_ratio(observed: int, expected: float, phi: float) -> None:
    got = poisson_ratio_interval(observed, expected, phi=phi)
    assert got is not None
    assert 0.0 <= got[0] <= observed / expected <= got[1]


@given(st.integers(0, 120), st.integers(1, 120), st.floats(0.001, 0.9), st.floats(1.0, 5.0))
def test_tails_are_probabilities_and_monotone(x: int, n: int, p: float, phi: float) -> None:
    up, up_next = upper_tail(x, n, p, phi), upper_tail(x + 1, n, p, phi)
    low, low_next = lower_tail(x, n, p, phi), lower_tail(x + 1, n, p, phi)
    assert 0.0 <= up_next <= up + 1e-12 <= 1.0 + 1e-12
    assert 0.0 <= low <= low_next + 1e-12 <= 1.0 + 1e-12


# Beta-binomial upper tails P(X >= x) far out, summed exactly with mpmath at 50 digits:
# (n, x, a, b, exact). scipy.stats took these as 1 - CDF and was off by 0.03-0.19 %.
_EXACT_BETABINOM_SF = [
    (1000, 16, 2.8579723669948933, 3326.142027633005, 4.40703696663e-9),
    (1000, 114, 1.2914523625384031, 197.50854763746162, 1.00839139751e-9),
    (1000, 657, 86.6333007573633, 112.16669924263671, 3.94869566277e-9),
    (80, 10, 0.03593736819192027, 262.29739596514133, 1.55174157301e-9),
    (1000, 101, 1.0180541684304447, 197.78194583156957, 5.30439807654e-9),
]


@pytest.mark.parametrize(("n", "x", "a", "b", "exact"), _EXACT_BETABINOM_SF)
def test_beta_binomial_far_tails_are_exact(n: int, x: int, a: float, b: float, exact: float) -> None:
    from pipeline.signals.stats import _betabinom_split

    below, at_least = _betabinom_split(x, n, a, b)
    assert at_least == pytest.approx(exact, rel=1e-10)
    assert below + at_least == pytest.approx(1.0)


@pytest.mark.parametrize("phi", [1.0 + 2**-52, 1.0 + 1e-12, 1.0 + 1e-9])
def test_a_phi_a_hair_above_one_is_binomial(phi: float) -> None:
    """Beta parameters of ~1/(phi - 1) make log-beta differences meaningless: the binomial is used there."""
    for n, p, x in [(2, 0.25, 1), (2, 0.5, 1), (100, 0.05, 9), (10_000, 0.01, 130)]:
        assert upper_tail(x, n, p, phi) == pytest.approx(upper_tail(x, n, p), rel=1e-9)
        assert lower_tail(x, n, p, phi) == pytest.approx(lower_tail(x, n, p), rel=1e-9)
    _, pmf = count_pmf(100, 0.05, phi)
    assert float(pmf.sum()) == pytest.approx(1.0)


@given(st.integers(1, 400), st.floats(0.0005, 0.6), st.floats(1.0, 6.0), st.data())
def test_tails_match_scipy_stats_where_it_is_precise(n: int, p: float, phi: float, data: st.DataObject) -> None:
    from pipeline.signals.stats import betabinom_params

    x = data.draw(st.integers(0, n))
    ab = betabinom_params(n, p, phi)
    if ab is None:
        want_up, want_low = stats.binom.sf(x - 1, n, p), stats.binom.cdf(x, n, p)
    else:
        want_up, want_low = stats.betabinom.sf(x - 1, n, *ab), stats.betabinom.cdf(x, n, *ab)
    # scipy sums the CDF and takes the upper tail as 1 - CDF: with beta parameters in the millions (phi a
    # hair above 1) that sum is off by up to ~1e-8 (n=322, x=322, phi=1.00005: 7e-9 for a tail of 1e-121;
    # n=62, x=11: 1.9e-7 relative at 9.7e-6, where this module is within 6e-13 of mpmath), so scipy is the
    # reference only to that absolute precision; the exact far tails are pinned above.
    assert upper_tail(x, n, p, phi) == pytest.approx(float(want_up), rel=1e-6, abs=2e-8)
    assert lower_tail(x, n, p, phi) == pytest.approx(float(want_low), rel=1e-6, abs=2e-8)


def test_poisson_ratio_interval_uses_the_gamma_quantiles() -> None:
    got = poisson_ratio_interval(7, 2.0, phi=1.5)
    assert got is not None
    k, e = 7 / 1.5, 2.0 / 1.5
    assert got == (pytest.approx(stats.gamma.ppf(0.025, k) / e, rel=1e-12),
                   pytest.approx(stats.gamma.ppf(0.975, k + 1) / e, rel=1e-12))


def test_detection_and_explanations_do_not_load_scipy_stats() -> None:
    """scipy.stats costs ~0.37 s and ~46 MB a process; the service, detect and the review page need none of it."""
    import subprocess
    import sys

    code = ("import sys, pipeline.service.detect, pipeline.signals.explain, pipeline.signals.arl, "
            "pipeline.review.app, pipeline.service.runner\n"
            "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
