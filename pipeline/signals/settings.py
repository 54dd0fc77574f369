"""Tunable settings of the signals stage: windows, baseline, CUSUM, sparse rule, health gate, composites.

The defaults and the false-alarm figures behind them are measured by ``bench/bench_arl.py``.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.signals.types import Direction


class SparseSettings(BaseModel):
    """Themes with almost no baseline hits are not run through the CUSUM but through an exact-tail rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expected_hits: float = Field(
        default=0.5, ge=0, description="a theme is sparse when p0 times the mean baseline volume is below this"
    )
    min_baseline_hits: int = Field(default=5, ge=0, description="... or when the whole baseline holds fewer hits")
    min_hits: int = Field(default=3, ge=1, description="an alert needs at least this many hits in the window")
    min_sources: int = Field(default=3, ge=1, description="... from at least this many distinct sources")
    p_value: float = Field(default=1e-4, gt=0, lt=1, description="... and a binomial upper tail below this")
    pseudo_count: float = Field(
        default=0.5,
        gt=0,
        description="p0 floor: (baseline hits + pseudo_count) / (baseline clusters + 2 * pseudo_count)",
    )
    watch_p_value: float = Field(
        default=1e-2, gt=0, lt=1, description="a sparse window with min_hits and a tail below this is a watch"
    )


class HealthSettings(BaseModel):
    """When the window's volume or source mix may explain a shift, decisions carry a flag and a reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_failed_fraction: float = Field(
        default=1 / 3, gt=0, le=1, description="flag when at least this fraction of active sources failed"
    )
    volume_low: float = Field(default=0.5, ge=0, description="flag when n is below this fraction of mean baseline n")
    volume_high: float = Field(default=2.0, gt=1, description="flag when n is above this multiple of it")
    max_source_share: float = Field(
        default=0.6, gt=0, le=1, description="flag when one source holds more than this share of the hits"
    )
    min_hits_for_share: int = Field(default=4, ge=1, description="... judged only from this many hits on")


class CompositeMember(BaseModel):
    """One theme shift a composite rule waits for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    theme: str = Field(min_length=1)
    direction: Direction


class CompositeRule(BaseModel):
    """Several theme shifts within a few windows raise one composite alert (e.g. a 'new phase')."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="reported as the composite alert's theme")
    label: str = ""
    members: tuple[CompositeMember, ...] = Field(min_length=2)
    within_windows: int = Field(default=28, ge=1, description="every member shifted within this many windows")
    min_level: Literal["watch", "alert"] = Field(default="alert", description="lowest member level that counts")
    direction: Direction = Field(default="rise", description="direction reported for the composite alert")

    @model_validator(mode="after")
    def _distinct_members(self) -> Self:
        keys = [(m.theme, m.direction) for m in self.members]
        if len(set(keys)) != len(keys):
            raise ValueError(f"composite rule {self.id!r}: a member is listed twice")
        return self


NEW_PHASE = CompositeRule(
    id="new_phase",
    label="New phase: territorial focus falls while returning fighters and propaganda collapse rise",
    members=(
        CompositeMember(theme="territorial_focus", direction="fall"),
        CompositeMember(theme="returning_fighters", direction="rise"),
        CompositeMember(theme="propaganda_collapse", direction="rise"),
    ),
    within_windows=28,
)


class SignalSettings(BaseModel):
    """Detection settings: windows, baseline, the two binomial CUSUMs per theme, and what follows an alert."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_hours: int = Field(default=24, ge=1, description="length of one window (one UTC day by default)")
    baseline_windows: int = Field(default=28, ge=2, description="trailing windows the baseline is drawn from")
    guard_windows: int = Field(default=2, ge=0, description="windows just before the current one left out")
    min_baseline_windows: int = Field(default=7, ge=2, description="fewer usable baseline windows: no decision")
    # 6 rather than the customary 5: with p0 and phi estimated from the trailing windows, 5 gives an ARL0 of
    # only ~180-300 windows for overdispersed themes; 6 keeps it above 365 (bench/bench_arl.py).
    h: float = Field(default=6.0, gt=0, description="alert when the CUSUM reaches this")
    watch: float = Field(default=2.5, gt=0, description="a watch signal (not an alert) from this level")
    rise_ratio: float = Field(default=2.0, gt=1, description="the rise CUSUM is tuned to p1 = rise_ratio * p0")
    fall_ratio: float = Field(default=0.5, gt=0, lt=1, description="the fall CUSUM is tuned to p1 = fall_ratio * p0")
    dispersion_windows: int = Field(
        default=84, ge=2, description="latest usable windows the overdispersion is estimated from"
    )
    dispersion_model: Literal["volume", "constant"] = Field(
        default="volume", description="volume: phi(n) = 1 + (n - 1) rho; constant: one phi = Pearson chi^2/df"
    )
    phi_min: float = Field(default=1.0, ge=1, description="overdispersion is clipped to [phi_min, phi_max]")
    phi_max: float = Field(default=10.0, ge=1)
    episode_min_windows: int = Field(
        default=2, ge=0, description="an alert episode lasts at least this many windows after the alert window"
    )
    episode_max_windows: int = Field(
        default=28, ge=1, description="... and at most this many, even if the CUSUM has not fallen back to 0"
    )
    sparse: SparseSettings = Field(default_factory=SparseSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    composites: tuple[CompositeRule, ...] = (NEW_PHASE,)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.watch >= self.h:
            raise ValueError(f"signals: watch ({self.watch}) must be below h ({self.h})")
        if self.phi_min > self.phi_max:
            raise ValueError(f"signals: phi_min ({self.phi_min}) is above phi_max ({self.phi_max})")
        if self.min_baseline_windows > self.baseline_windows:
            raise ValueError(
                f"signals: min_baseline_windows ({self.min_baseline_windows}) exceeds baseline_windows "
                f"({self.baseline_windows})"
            )
        if self.episode_min_windows > self.episode_max_windows:
            raise ValueError("signals: episode_min_windows exceeds episode_max_windows")
        ids = [r.id for r in self.composites]
        if len(set(ids)) != len(ids):
            raise ValueError("signals: composite rule ids must be unique")
        return self
