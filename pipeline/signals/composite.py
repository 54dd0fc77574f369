"""Composite rules: several theme shifts within a few windows raise one alert (a 'phase change').

A member shift is identified by (theme, direction, onset): a watch run keeps its onset from window to window,
and each alert episode has its own. A rule fires when every member has a qualifying shift within the last
``within_windows`` windows (the current one included) that no earlier firing of the rule has used; so the same
set of member episodes never fires the rule twice, and it fires again only once every member has shifted anew.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.signals.settings import CompositeRule, SignalSettings
from pipeline.signals.types import Decision, Direction, Level

ShiftKey = tuple[str, Direction, datetime]  # (theme, direction, onset)

_RANK: dict[Level, int] = {"none": 0, "watch": 1, "alert": 2}


@dataclass(frozen=True, slots=True)
class Shift:
    """A theme signal (watch or alert) as a composite rule sees it."""

    theme: str
    direction: Direction
    level: Level
    window_start: datetime  # window in which it was signalled
    onset: datetime  # start of its run (alerts: the estimated onset); identifies the member's episode

    @property
    def key(self) -> ShiftKey:
        return (self.theme, self.direction, self.onset)

    @classmethod
    def from_decision(cls, d: Decision) -> Shift | None:
        """The shift a decision signals; None for level "none" and for suppressed repeats inside an episode."""
        if d.level == "none" or d.suppressed:
            return None
        return cls(d.theme, d.direction, d.level, d.window_start, d.onset or d.window_start)

    def to_dict(self) -> dict[str, Any]:
        return {
            "theme": self.theme,
            "direction": self.direction,
            "level": self.level,
            "window_start": self.window_start.isoformat(),
            "onset": self.onset.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CompositeDecision:
    """A composite rule fired in this window, on these member shifts."""

    rule_id: str
    label: str
    direction: Direction
    window_start: datetime
    window_end: datetime
    onset: datetime  # earliest onset among the members
    members: tuple[Shift, ...]  # one per rule member, in the rule's order

    @property
    def keys(self) -> frozenset[ShiftKey]:
        return frozenset(m.key for m in self.members)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "label": self.label,
            "direction": self.direction,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "onset": self.onset.isoformat(),
            "members": [m.to_dict() for m in self.members],
        }


def evaluate_composite(
    rule: CompositeRule,
    shifts: Iterable[Shift],
    window_start: datetime,
    window_end: datetime,
    used: Collection[ShiftKey],
    window_hours: int,
) -> CompositeDecision | None:
    """Whether ``rule`` fires in the window starting at ``window_start``.

    ``shifts`` are recent signals of any theme (older or later ones are ignored); ``used`` holds the member
    keys of the rule's earlier firings (``CompositeDecision.keys``), so that it does not fire again on them.
    """
    oldest = window_start - (rule.within_windows - 1) * timedelta(hours=window_hours)
    needed = _RANK[rule.min_level]
    best: dict[tuple[str, Direction], Shift] = {}
    for s in shifts:
        if not oldest <= s.window_start <= window_start or _RANK[s.level] < needed or s.key in used:
            continue
        slot = (s.theme, s.direction)
        if slot not in best or s.window_start > best[slot].window_start:
            best[slot] = s
    chosen: list[Shift] = []
    for m in rule.members:
        shift = best.get((m.theme, m.direction))
        if shift is None:
            return None
        chosen.append(shift)
    return CompositeDecision(
        rule_id=rule.id,
        label=rule.label,
        direction=rule.direction,
        window_start=window_start,
        window_end=window_end,
        onset=min(s.onset for s in chosen),
        members=tuple(chosen),
    )


def run_composites(decisions: Sequence[Decision], settings: SignalSettings) -> list[CompositeDecision]:
    """Fold every composite rule over the decisions of a run (e.g. ``run_series``), window by window."""
    windows = sorted({(d.window_start, d.window_end) for d in decisions})
    shifts = sorted((s for d in decisions if (s := Shift.from_decision(d)) is not None), key=lambda s: s.window_start)
    used: dict[str, set[ShiftKey]] = {r.id: set() for r in settings.composites}
    fired: list[CompositeDecision] = []
    for start, end in windows:
        seen = [s for s in shifts if s.window_start <= start]
        for rule in settings.composites:
            cd = evaluate_composite(rule, seen, start, end, used[rule.id], settings.window_hours)
            if cd is not None:
                used[rule.id] |= cd.keys
                fired.append(cd)
    return fired
