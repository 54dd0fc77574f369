"""The health gate: does the window's volume or source mix explain a shift better than a trend would?"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.signals.settings import HealthSettings
from pipeline.signals.types import WindowCount

_EPS = 1e-9  # so that "a third" of 12 sources (4) counts as reaching a threshold of 1/3


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """The gate's verdict on one window (for one theme, since concentration depends on the theme's hits)."""

    flag: bool
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def check_health(current: WindowCount, baseline_mean_volume: float, settings: HealthSettings) -> HealthCheck:
    """Flag the window when volume, failing sources or a single dominant source may explain its counts.

    Reasons come in a fixed order: volume, failed sources, concentration, e.g.
    "volume 38% of baseline; 4 of 12 sources failed".
    """
    reasons: list[str] = []
    if baseline_mean_volume > 0:
        ratio = current.n / baseline_mean_volume
        if ratio < settings.volume_low or ratio > settings.volume_high:
            reasons.append(f"volume {ratio:.0%} of baseline ({current.n} vs {baseline_mean_volume:.1f} stories)")
    h = current.health
    if h is not None and h.active > 0 and h.failed >= settings.max_failed_fraction * h.active - _EPS:
        reasons.append(f"{h.failed} of {h.active} sources failed")
    top = current.x_top_source
    if top is None and current.sources == 1:
        top = current.x  # one source behind every hit
    if top is not None and current.x >= settings.min_hits_for_share and top > settings.max_source_share * current.x:
        reasons.append(f"{top} of {current.x} hits from one source")
    return HealthCheck(flag=bool(reasons), reasons=tuple(reasons))
