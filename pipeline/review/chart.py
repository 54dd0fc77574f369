"""The geometry of a theme's inline SVG chart: proportion x/n per window over the CUSUM S, alerts marked.

Pure: numbers in, pixel coordinates and labels out; the template only draws them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.review import format as f

WIDTH = 960
LEFT, RIGHT = 64, 20
TOP_H, GAP, LOW_H, BOTTOM = 200, 56, 130, 30
TOP_Y = 34  # room for the legend
LOW_Y = TOP_Y + TOP_H + GAP
HEIGHT = LOW_Y + LOW_H + BOTTOM


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One window of a theme's series."""

    window_start: datetime
    x: int
    n: int
    p0: float | None
    s_rise: float | None
    s_fall: float | None


@dataclass(frozen=True, slots=True)
class AlertMark:
    id: int
    window_start: datetime
    direction: str
    status: str


@dataclass(frozen=True, slots=True)
class Dot:
    cx: float
    cy: float
    title: str
    css: str


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float  # pixel position along the axis
    label: str


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical line at an alert's window, linked to the alert."""

    x: float
    href: str
    title: str
    css: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # x of the right edge of the plots
    top_y: int
    top_h: int
    low_y: int
    low_h: int
    x_ticks: tuple[Tick, ...]
    top_ticks: tuple[Tick, ...]
    low_ticks: tuple[Tick, ...]
    proportion: tuple[str, ...]  # polyline point lists, broken where a window has no stories
    baseline: tuple[str, ...]
    s_rise: tuple[str, ...]
    s_fall: tuple[str, ...]
    h_y: float | None  # the threshold line in the lower panel
    dots: tuple[Dot, ...]
    markers: tuple[Marker, ...]
    empty: bool


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``value`` (> 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-12):
            return float(step * power)
    return float(10 * power)


def _lines(values: Sequence[float | None], xs: Sequence[float], y_of: Callable[[float], float]) -> tuple[str, ...]:
    """Polyline point lists, one per run of windows that have a value."""
    runs: list[list[str]] = [[]]
    for x, v in zip(xs, values, strict=True):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{x:.1f},{y_of(v):.1f}")
    return tuple(" ".join(r) for r in runs if r)


def _x_ticks(starts: Sequence[datetime], xs: Sequence[float], wanted: int = 7) -> tuple[Tick, ...]:
    if not starts:
        return ()
    step = max(1, math.ceil(len(starts) / wanted))
    return tuple(Tick(xs[i], starts[i].astimezone(UTC).strftime("%Y-%m-%d")) for i in range(0, len(starts), step))


def build_chart(points: Sequence[SeriesPoint], alerts: Sequence[AlertMark], h: float | None,
                *, alert_href: str = "/alerts/{id}") -> Chart:
    """Lay out both panels for ``points`` (in window order) and the alerts raised among them."""
    plot_right = WIDTH - RIGHT
    count = len(points)
    step = (plot_right - LEFT) / max(count, 1)
    xs = [LEFT + (i + 0.5) * step for i in range(count)]
    props: list[float | None] = [p.x / p.n if p.n > 0 else None for p in points]
    p0s = [p.p0 for p in points]

    top_max = nice_ceiling(max([v for v in props + p0s if v is not None] + [1e-9]) * 1.1)
    s_values = [v for p in points for v in (p.s_rise, p.s_fall) if v is not None]
    low_max = nice_ceiling(max([*s_values, (h or 0) * 1.15, 1.0]))

    def top_y(v: float) -> float:
        return TOP_Y + TOP_H - (v / top_max) * TOP_H

    def low_y(v: float) -> float:
        return LOW_Y + LOW_H - (min(v, low_max) / low_max) * LOW_H

    dots = tuple(
        Dot(x, top_y(v), f"{f.day(p.window_start)}: {p.x} of {p.n} stories = {f.pct(v)}"
            + (f" (baseline {f.pct(p.p0)})" if p.p0 is not None else ""), "dot")
        for x, v, p in zip(xs, props, points, strict=True) if v is not None
    )
    index = {p.window_start: i for i, p in enumerate(points)}
    markers = tuple(
        Marker(xs[index[a.window_start]], alert_href.format(id=a.id),
               f"alert {a.id}: {a.direction} ({a.status}) in the window of {f.day(a.window_start)}",
               f"marker {a.direction}")
        for a in alerts if a.window_start in index
    )
    return Chart(
        width=WIDTH, height=HEIGHT, left=LEFT, right=plot_right, top_y=TOP_Y, top_h=TOP_H, low_y=LOW_Y, low_h=LOW_H,
        x_ticks=_x_ticks([p.window_start for p in points], xs),
        top_ticks=tuple(Tick(top_y(top_max * k / 4), f.pct(top_max * k / 4)) for k in range(5)),
        low_ticks=tuple(Tick(low_y(low_max * k / 2), f.num(low_max * k / 2, 3)) for k in range(3)),
        proportion=_lines(props, xs, top_y),
        baseline=_lines(p0s, xs, top_y),
        s_rise=_lines([p.s_rise for p in points], xs, low_y),
        s_fall=_lines([p.s_fall for p in points], xs, low_y),
        h_y=low_y(h) if h is not None and h <= low_max else None,
        dots=dots,
        markers=markers,
        empty=count == 0,
    )
