"""The trailing baseline of one theme: which windows, their proportion p0 and their overdispersion.

p0 is pooled over the latest ``baseline_windows`` usable windows (outside alert episodes). Overdispersion comes
from the Pearson statistic over the latest ``dispersion_windows`` windows (a theme's dispersion changes more
slowly than its level, and 27 degrees of freedom estimate it too loosely: an underestimated phi inflates every
LLR, see bench/bench_arl.py). Two models:

- ``constant``: phi = Pearson chi^2 / df for every window (the quasi-binomial model);
- ``volume`` (default): the day's proportion itself varies (beta-binomial), so a window of n clusters has
  phi(n) = 1 + (n - 1) * rho; rho is the moment estimate from the same Pearson statistic. Busy days get a
  larger phi than quiet ones, as the NewsArticles 2017 counts show (phi about 0.8 on days under 43 articles,
  about 2 above, for Syria or the Islamic State).

Either way phi is clipped to [phi_min, phi_max].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.errors import InputError
from pipeline.signals.settings import SignalSettings
from pipeline.signals.types import Span, WindowCount


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the trailing baseline says about one theme before the current window."""

    windows: int  # usable windows for p0: n > 0, outside the guard band and outside alert episodes
    hits: int  # sum of x over them
    total: int  # sum of n over them
    p0: float  # hits / total (0.0 when total == 0)
    volumes: tuple[int, ...]  # n of each of those windows, oldest first
    first: datetime | None  # start of the earliest of them
    last: datetime | None  # start of the latest of them
    sufficient: bool  # at least min_baseline_windows usable windows
    sparse: bool  # too few hits for the CUSUM: the sparse rule applies
    p0_floor: float  # (hits + c) / (total + 2c): what sparse tails are tested against
    dispersion_windows: int  # usable windows behind the dispersion estimate
    pearson: float | None  # Pearson chi^2 / df over them (None when undefined)
    rho: float  # intra-window correlation (volume model; 0 in the constant model or when undefined)
    model: str  # "volume" or "constant"
    phi_min: float
    phi_max: float

    @property
    def mean_volume(self) -> float:
        return self.total / self.windows if self.windows else 0.0

    @property
    def expected_hits(self) -> float:
        """Hits expected in a window of mean volume."""
        return self.hits / self.windows if self.windows else 0.0

    def phi_for(self, n: int | float) -> float:
        """The overdispersion applied to a window of n clusters."""
        if self.model == "constant":
            raw = 1.0 if self.pearson is None else self.pearson
        else:
            raw = 1.0 + max(n - 1.0, 0.0) * self.rho
        return min(max(raw, self.phi_min), self.phi_max)

    @property
    def phi(self) -> float:
        """The overdispersion at the mean baseline volume (what a typical window gets)."""
        return self.phi_for(self.mean_volume)


def baseline_range(current_start: datetime, settings: SignalSettings) -> tuple[datetime, datetime]:
    """[start, end) of the window starts the baseline may draw from.

    The guard band just before the current window is left out. The range reaches back past the baseline and
    dispersion windows by ``episode_max_windows``, so that a baseline can step over an alert episode and
    still hold its full number of windows.
    """
    length = timedelta(hours=settings.window_hours)
    end = current_start - settings.guard_windows * length
    span = max(settings.baseline_windows, settings.dispersion_windows) + settings.episode_max_windows
    return end - span * length, end


def history_windows(settings: SignalSettings) -> int:
    """How many windows before the current one ``compute_baseline`` may look at (guard band included)."""
    return (
        settings.guard_windows
        + max(settings.baseline_windows, settings.dispersion_windows)
        + (settings.episode_max_windows)
    )


def compute_baseline(
    history: Sequence[WindowCount],
    current: WindowCount,
    exclusions: Sequence[Span],
    settings: SignalSettings,
) -> Baseline:
    """Baseline of ``current.theme`` from the earlier windows in ``history`` (any extra windows are ignored).

    Windows in ``baseline_range`` with n > 0 count. p0 comes from the latest ``baseline_windows`` of them not
    covered by an exclusion (an alert episode, from its onset on); the dispersion from the latest
    ``dispersion_windows`` of them, episodes included: leaving a false alarm's windows out would bias phi low
    and breed further false alarms (measured: a 20% shorter ARL0), while a real shift left in only makes the
    theme's phi err on the high, cautious side for a while.
    """
    lo, hi = baseline_range(current.window_start, settings)
    usable: list[WindowCount] = []
    spread: list[WindowCount] = []  # every window with n > 0 in range, for the dispersion
    for w in history:
        if w.theme != current.theme:
            raise InputError(f"history for theme {current.theme!r} holds a window of theme {w.theme!r}")
        if w.window_start >= current.window_start:
            raise InputError(
                f"history for {current.theme!r} holds window {w.window_start.isoformat()}, "
                f"not before the current one ({current.window_start.isoformat()})"
            )
        if lo <= w.window_start < hi and w.n > 0:
            spread.append(w)
            if not any(sp.covers(w.window_start) for sp in exclusions):
                usable.append(w)
    usable.sort(key=lambda w: w.window_start)
    used = usable[-settings.baseline_windows :]
    k = len(used)
    hits = sum(w.x for w in used)
    total = sum(w.n for w in used)
    c = settings.sparse.pseudo_count
    # hits / k is p0 times the mean volume, computed exactly so that hits/k == 0.5 is not sparse by rounding.
    sparse = hits < settings.sparse.min_baseline_hits or (k > 0 and hits / k < settings.sparse.expected_hits)
    spread.sort(key=lambda w: w.window_start)
    disp = spread[-settings.dispersion_windows :]
    xs, ns = [w.x for w in disp], [w.n for w in disp]
    pearson, rho = dispersion(xs, ns)
    return Baseline(
        windows=k,
        hits=hits,
        total=total,
        p0=hits / total if total else 0.0,
        volumes=tuple(w.n for w in used),
        first=used[0].window_start if used else None,
        last=used[-1].window_start if used else None,
        sufficient=k >= settings.min_baseline_windows,
        sparse=sparse,
        p0_floor=(hits + c) / (total + 2.0 * c),
        dispersion_windows=len(disp),
        pearson=pearson,
        rho=rho if settings.dispersion_model == "volume" else 0.0,
        model=settings.dispersion_model,
        phi_min=settings.phi_min,
        phi_max=settings.phi_max,
    )


def dispersion(xs: Sequence[int], ns: Sequence[int]) -> tuple[float | None, float]:
    """(Pearson chi^2 / df, rho) of counts against their pooled proportion; (None, 0.0) when undefined.

    rho is the moment estimate under phi(n) = 1 + (n - 1) rho: with the pooled proportion estimated,
    E[chi^2] = (k - 1) + rho * (sum(n - 1) - sum(n (n - 1)) / N), solved for rho and kept >= 0.
    Undefined with fewer than two windows or a pooled proportion of 0 or 1.
    """
    k = len(xs)
    big_n = sum(ns)
    if k < 2 or big_n <= 0:
        return None, 0.0
    p = sum(xs) / big_n
    if p <= 0.0 or p >= 1.0:
        return None, 0.0
    var = p * (1.0 - p)
    chi2 = sum((x - n * p) ** 2 / (n * var) for x, n in zip(xs, ns, strict=True) if n > 0)
    denom = sum(n - 1 for n in ns) - sum(n * (n - 1) for n in ns) / big_n
    rho = max((chi2 - (k - 1)) / denom, 0.0) if denom > 0 else 0.0
    return chi2 / (k - 1), rho
