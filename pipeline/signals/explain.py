"""Building the ``Explanation`` of a watch or an alert: every number an analyst needs to check it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.signals.arl import arl0_cusum_mixture, arl0_sparse, describe_false_alarm_rate
from pipeline.signals.baseline import Baseline
from pipeline.signals.health import HealthCheck
from pipeline.signals.settings import SignalSettings
from pipeline.signals.stats import lower_tail, poisson_ratio_interval, upper_tail, wilson_interval
from pipeline.signals.types import Direction, Explanation, Level, Method, WindowCount

RATIO_METHOD = (
    "exact Poisson (Garwood) interval for the observed hits, scaled by phi (quasi-Poisson), "
    "divided by the expected hits taken as known"
)
INTERVAL_METHOD = "Wilson score, 95%, with the sample size divided by phi (design effect)"
P_CUSUM = "one-sided tail of this window's hits, beta-binomial with mean p0 and variance phi times binomial"
P_SPARSE = (
    "exact upper tail at the p0 floor (hits + c) / (clusters + 2c), c = sparse.pseudo_count: binomial, or "
    "beta-binomial with variance phi times binomial when the theme is overdispersed"
)
ARL_CUSUM = (
    "Brook-Evans Markov chain for this CUSUM: beta-binomial counts at p0 and each window's phi, volumes drawn "
    "from the baseline windows, baseline taken as known (estimating it shortens the true ARL0: see bench_arl)"
)
ARL_SPARSE = (
    "1 / in-control chance per window that the sparse rule fires (at the p0 floor and phi, volumes from the "
    "baseline; the distinct-source condition ignored, so a lower bound)"
)


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Hits and expectations accumulated since the estimated onset."""

    onset: datetime | None
    observed: int
    expected: float


def build_explanation(
    *,
    current: WindowCount,
    direction: Direction,
    level: Level,
    method: Method,
    baseline: Baseline,
    run: RunTotals,
    s: float,
    health: HealthCheck,
    settings: SignalSettings,
) -> Explanation:
    """The explanation of one decision at watch or alert level."""
    sparse = method == "sparse"
    p0 = baseline.p0_floor if sparse else baseline.p0
    phi = baseline.phi_for(current.n)
    windows = [(v, baseline.phi_for(v)) for v in baseline.volumes]
    x, n = current.x, current.n
    p_value = upper_tail(x, n, p0, phi) if direction == "rise" else lower_tail(x, n, p0, phi)
    # The false-alarm rate is that of alerts; a watch (frequent, and no alert) is spared the computation.
    arl0: float | None = None
    if level == "alert" and sparse:
        arl0 = arl0_sparse(p0, windows, settings.sparse.min_hits, settings.sparse.p_value)
    elif level == "alert":
        ratio_setting = settings.rise_ratio if direction == "rise" else settings.fall_ratio
        arl0 = arl0_cusum_mixture(p0, windows, settings.h, ratio_setting)
    ratio = run.observed / run.expected if run.expected > 0 else None
    mean_volume = baseline.mean_volume
    interval = poisson_ratio_interval(run.observed, run.expected, phi=phi)
    ratio_text = "n/a" if ratio is None else f"{ratio:.2f}x"
    ci_text = "" if interval is None else f", 95% CI {interval[0]:.2f}-{interval[1]:.2f}"
    since = run.onset.date().isoformat() if run.onset is not None else current.window_start.date().isoformat()
    summary = (
        f"{current.theme} {direction} ({level}): {run.observed} hits since {since} vs {run.expected:.1f} expected "
        f"({ratio_text}{ci_text})" + (f"; caution: {health.reason}" if health.flag else "")
    )
    return Explanation(
        theme=current.theme,
        direction=direction,
        level=level,
        method=method,
        window_start=current.window_start,
        window_end=current.window_end,
        onset=run.onset,
        observed_since_onset=run.observed,
        expected_since_onset=run.expected,
        ratio=ratio,
        ratio_interval=interval,
        ratio_method=RATIO_METHOD,
        window_x=x,
        window_n=n,
        window_proportion=x / n if n else None,
        window_interval=wilson_interval(x, n, design_effect=phi),
        baseline_proportion=baseline.p0,
        baseline_interval=wilson_interval(baseline.hits, baseline.total, design_effect=phi),
        p0_tested=p0,
        interval_method=INTERVAL_METHOD,
        baseline_first=baseline.first,
        baseline_last=baseline.last,
        baseline_windows=baseline.windows,
        volume=n,
        baseline_mean_volume=mean_volume,
        volume_ratio=n / mean_volume if mean_volume > 0 else None,
        phi=phi,
        phi_baseline=baseline.phi,
        rho=baseline.rho,
        dispersion_windows=baseline.dispersion_windows,
        dispersion_model=baseline.model,
        s=s,
        h=settings.h,
        p_value=p_value,
        p_value_method=P_SPARSE if sparse else P_CUSUM,
        arl0_windows=arl0,
        false_alarm_rate="" if arl0 is None else describe_false_alarm_rate(arl0, settings.window_hours),
        arl0_method=ARL_SPARSE if sparse else ARL_CUSUM,
        raw_x=current.raw_x,
        raw_n=current.raw_n,
        sources=current.sources,
        health_flag=health.flag,
        health_reason=health.reason,
        summary=summary,
    )
