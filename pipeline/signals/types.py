"""Typed values of the signals stage: window counts in, decisions and CUSUM state out.

``WindowCount`` comes from storage (one theme, one window); ``Decision`` goes back to storage (one per theme,
direction and window); ``CusumState`` is the per-theme memory carried from one window to the next, stored beside
the decisions so the live service can resume where it stopped. All values are frozen; times are timezone-aware UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal

from pipeline.errors import InputError

Direction = Literal["rise", "fall"]
Level = Literal["none", "watch", "alert"]
Method = Literal["cusum", "sparse", "none"]  # "none": no decision could be made (e.g. insufficient baseline)

DIRECTIONS: tuple[Direction, Direction] = ("rise", "fall")


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """How the sources fared during one window (the same for every theme)."""

    active: int  # sources configured and enabled during the window
    ok: int  # of those, sources polled successfully at least once in the window

    def __post_init__(self) -> None:
        if self.active < 0 or self.ok < 0 or self.ok > self.active:
            raise InputError(f"source health: need 0 <= ok <= active, got ok={self.ok}, active={self.active}")

    @property
    def failed(self) -> int:
        return self.active - self.ok


@dataclass(frozen=True, slots=True)
class WindowCount:
    """Counts of one theme in one window, as storage hands them to detection."""

    theme: str
    window_start: datetime
    window_end: datetime
    x: int  # story clusters carrying the theme
    n: int  # all story clusters in the window
    sources: int  # distinct sources behind the x clusters (a syndicated cluster may have several)
    raw_x: int | None = None  # articles carrying the theme, syndicated copies included (None: unknown)
    raw_n: int | None = None  # all articles, syndicated copies included (None: unknown)
    health: SourceHealth | None = None  # source health of the window (None: unknown, not gated)
    x_top_source: int | None = None  # most x clusters contributed by any one source (None: unknown)

    def __post_init__(self) -> None:
        where = f"window count {self.theme!r} at {self.window_start.isoformat()}"
        if self.window_start.tzinfo is None or self.window_end.tzinfo is None:
            raise InputError(f"{where}: window bounds must be timezone-aware (UTC)")
        if self.window_end <= self.window_start:
            raise InputError(f"{where}: window_end must be after window_start")
        if not 0 <= self.x <= self.n:
            raise InputError(f"{where}: need 0 <= x <= n, got x={self.x}, n={self.n}")
        # A syndicated story is one cluster from several sources, so sources may exceed x, but not raw_x.
        if self.sources < 0 or (self.x > 0) != (self.sources > 0) or self.sources > (self.raw_x or self.sources):
            raise InputError(f"{where}: sources={self.sources} does not fit x={self.x}, raw_x={self.raw_x}")
        if self.x_top_source is not None and not 0 <= self.x_top_source <= self.x:
            raise InputError(f"{where}: x_top_source={self.x_top_source} does not fit x={self.x}")
        if self.raw_x is not None and self.raw_x < self.x:
            raise InputError(f"{where}: raw_x={self.raw_x} is below the deduplicated x={self.x}")
        if self.raw_n is not None and self.raw_n < self.n:
            raise InputError(f"{where}: raw_n={self.raw_n} is below the deduplicated n={self.n}")


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open time span [start, end) of windows inside an alert episode; ``end`` None while it lasts."""

    start: datetime
    end: datetime | None = None

    def covers(self, t: datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True, slots=True)
class DirectionState:
    """The CUSUM of one theme in one direction after the last evaluated window."""

    s: float = 0.0  # the CUSUM statistic, >= 0
    run_start: datetime | None = None  # start of the window where S last left zero (None while S == 0)
    run_x: int = 0  # hits since run_start, inclusive
    run_n: int = 0  # clusters since run_start, inclusive
    run_expected: float = 0.0  # sum of n * p0 since run_start, each window against its own baseline
    episode_onset: datetime | None = None  # onset of the open alert episode (None: no episode)
    episode_alert: datetime | None = None  # start of the window that raised the open episode's alert
    episode_windows: int = 0  # windows evaluated since that alert window (0 in the alert window itself)

    @property
    def in_episode(self) -> bool:
        return self.episode_onset is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "s": self.s,
            "run_start": _iso(self.run_start),
            "run_x": self.run_x,
            "run_n": self.run_n,
            "run_expected": self.run_expected,
            "episode_onset": _iso(self.episode_onset),
            "episode_alert": _iso(self.episode_alert),
            "episode_windows": self.episode_windows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DirectionState:
        return cls(
            s=float(data["s"]),
            run_start=_dt(data.get("run_start")),
            run_x=int(data.get("run_x", 0)),
            run_n=int(data.get("run_n", 0)),
            run_expected=float(data.get("run_expected", 0.0)),
            episode_onset=_dt(data.get("episode_onset")),
            episode_alert=_dt(data.get("episode_alert")),
            episode_windows=int(data.get("episode_windows", 0)),
        )


@dataclass(frozen=True, slots=True)
class CusumState:
    """Everything detection remembers about one theme between windows (JSON round-trip via to_dict/from_dict).

    ``excluded`` holds the closed alert episodes (onset to end) still young enough to fall inside a baseline;
    open episodes are in the direction states. Windows covered by either are left out of later baselines.
    """

    theme: str
    rise: DirectionState = field(default_factory=DirectionState)
    fall: DirectionState = field(default_factory=DirectionState)
    excluded: tuple[Span, ...] = ()
    last_window_start: datetime | None = None  # the last window evaluated (windows must come in order)

    def direction(self, d: Direction) -> DirectionState:
        return self.rise if d == "rise" else self.fall

    def with_direction(self, d: Direction, st: DirectionState) -> CusumState:
        return replace(self, rise=st) if d == "rise" else replace(self, fall=st)

    @property
    def in_episode(self) -> bool:
        return self.rise.in_episode or self.fall.in_episode

    def exclusions(self) -> tuple[Span, ...]:
        """Closed episode spans plus the open ones (from their onset on)."""
        open_spans = tuple(Span(st.episode_onset) for st in (self.rise, self.fall) if st.episode_onset is not None)
        return self.excluded + open_spans

    def to_dict(self) -> dict[str, Any]:
        return {
            "theme": self.theme,
            "rise": self.rise.to_dict(),
            "fall": self.fall.to_dict(),
            "excluded": [[_iso(sp.start), _iso(sp.end)] for sp in self.excluded],
            "last_window_start": _iso(self.last_window_start),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CusumState:
        try:
            excluded = tuple(Span(_req_dt(a), _dt(b)) for a, b in data.get("excluded", []))
            return cls(
                theme=str(data["theme"]),
                rise=DirectionState.from_dict(data["rise"]),
                fall=DirectionState.from_dict(data["fall"]),
                excluded=excluded,
                last_window_start=_dt(data.get("last_window_start")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"stored CUSUM state is malformed: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a signal was raised, in numbers an analyst can check (see ``explain.build_explanation``)."""

    theme: str
    direction: Direction
    level: Level
    method: Method
    window_start: datetime
    window_end: datetime
    onset: datetime | None  # estimated change point: the window where the CUSUM last left zero
    observed_since_onset: int
    expected_since_onset: float
    ratio: float | None  # observed / expected since onset (None when nothing was expected)
    ratio_interval: tuple[float, float] | None  # 95% interval for the ratio
    ratio_method: str
    window_x: int
    window_n: int
    window_proportion: float | None  # x / n of this window (None when n == 0)
    window_interval: tuple[float, float]  # 95% Wilson interval for the window's proportion
    baseline_proportion: float  # p0: baseline hits / baseline clusters
    baseline_interval: tuple[float, float]  # 95% Wilson interval for p0
    p0_tested: float  # the proportion the window was tested against (sparse themes: the pseudo-count floor)
    interval_method: str
    baseline_first: datetime | None  # start of the earliest baseline window
    baseline_last: datetime | None  # start of the latest baseline window
    baseline_windows: int
    volume: int  # n of this window
    baseline_mean_volume: float
    volume_ratio: float | None
    phi: float  # overdispersion applied to this window
    phi_baseline: float  # overdispersion at the mean baseline volume
    rho: float  # intra-window correlation behind phi (volume model; 0 otherwise)
    dispersion_windows: int  # windows the dispersion was estimated from
    dispersion_model: str  # "volume": phi(n) = 1 + (n - 1) rho; "constant": phi = Pearson chi^2 / df
    s: float
    h: float
    p_value: float  # this window alone, one-sided in the direction watched
    p_value_method: str
    arl0_windows: float | None  # in-control average run length to a false alert (inf: practically never;
    # None for watches, which are not alerts)
    false_alarm_rate: str  # the same in plain words ("" for watches)
    arl0_method: str
    raw_x: int | None
    raw_n: int | None
    sources: int
    health_flag: bool
    health_reason: str
    summary: str  # one line for notifications
    top_articles: tuple[dict[str, Any], ...] = ()  # filled in by the storage side (evidence per article)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (ISO 8601 times, lists for pairs, None for an infinite ARL0)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            name, value = f.name, getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, float) and not math.isfinite(value):  # JSON has no inf or NaN
                value = None
            out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one window for one theme and direction."""

    theme: str
    direction: Direction
    window_start: datetime
    window_end: datetime
    level: Level  # "alert" means: raise an alert now; "watch" is a signal only
    method: Method
    s: float  # CUSUM statistic in this window, before the reset an alert brings (0 for sparse themes)
    h: float
    p0: float | None  # baseline proportion (None: insufficient baseline)
    phi: float | None  # overdispersion used (None: insufficient baseline)
    expected: float | None  # n * p0 for this window
    observed: int  # x of this window
    onset: datetime | None  # estimated onset of the current run (alerts and watches)
    in_episode: bool  # this direction is inside an alert episode after this window
    suppressed: bool  # S reached h inside an episode: no new alert
    health_flag: bool  # the window's volume or source mix may explain the shift
    health_reason: str
    note: str  # why no decision was made, or other remarks ("" when none)
    explanation: Explanation | None  # for watches and alerts


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _dt(v: Any) -> datetime | None:
    return None if v is None else datetime.fromisoformat(str(v))


def _req_dt(v: Any) -> datetime:
    return datetime.fromisoformat(str(v))
