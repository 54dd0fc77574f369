"""Composite rules: a 'new phase' fires once when all its member shifts happen within N windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from pipeline.signals import (
    CompositeDecision,
    CompositeMember,
    CompositeRule,
    Shift,
    ShiftKey,
    SignalSettings,
    WindowCount,
    evaluate_composite,
    run_composites,
    run_series,
)
from pipeline.signals.settings import NEW_PHASE

T0 = datetime(2018, 1, 1, tzinfo=UTC)


def day(i: int) -> datetime:
    return T0 + timedelta(days=i)


def shift(theme: str, direction: str, at: int, onset: int | None = None, level: str = "alert") -> Shift:
    return Shift(theme, direction, level, day(at), day(at if onset is None else onset))  # type: ignore[arg-type]


PHASE = [
    shift("territorial_focus", "fall", 3),
    shift("returning_fighters", "rise", 10),
    shift("propaganda_collapse", "rise", 20),
]


def fire(
    shifts: list[Shift],
    at: int,
    used: frozenset[ShiftKey] = frozenset(),
    rule: CompositeRule = NEW_PHASE,
) -> CompositeDecision | None:
    return evaluate_composite(rule, shifts, day(at), day(at + 1), used, 24)


def test_fires_when_every_member_shifted_within_n_windows() -> None:
    got = fire(PHASE, 20)
    assert got is not None
    assert got.rule_id == "new_phase" and got.direction == "rise"
    assert [m.theme for m in got.members] == ["territorial_focus", "returning_fighters", "propaganda_collapse"]
    assert got.onset == day(3) and got.window_start == day(20)
    assert got.to_dict()["members"][0] == {
        "theme": "territorial_focus",
        "direction": "fall",
        "level": "alert",
        "window_start": day(3).isoformat(),
        "onset": day(3).isoformat(),
    }


def test_does_not_fire_when_a_member_is_missing_or_too_old() -> None:
    assert fire(PHASE[:2], 20) is None
    assert fire(PHASE, 31) is None  # the fall at window 3 is 29 windows back; the rule allows 28
    assert fire(PHASE, 30) is not None
    wrong_way = [shift("territorial_focus", "rise", 3), *PHASE[1:]]
    assert fire(wrong_way, 20) is None
    assert fire(PHASE, 19) is None  # the last member has not shifted yet


def test_watches_count_only_when_the_rule_says_so() -> None:
    watched = [PHASE[0], PHASE[1], shift("propaganda_collapse", "rise", 20, level="watch")]
    assert fire(watched, 20) is None
    lenient = NEW_PHASE.model_copy(update={"min_level": "watch"})
    assert fire(watched, 20, rule=lenient) is not None


def test_not_again_for_the_same_episodes() -> None:
    first = fire(PHASE, 20)
    assert first is not None
    used = first.keys
    assert fire(PHASE, 21, used) is None
    # One member shifts anew: still the same phase change.
    assert fire([*PHASE, shift("returning_fighters", "rise", 25)], 25, used) is None
    # Every member has a new episode: a new composite.
    fresh = [
        shift("territorial_focus", "fall", 40),
        shift("returning_fighters", "rise", 41),
        shift("propaganda_collapse", "rise", 42),
    ]
    again = fire([*PHASE, *fresh], 42, used)
    assert again is not None and again.onset == day(40)


def test_run_composites_over_a_simulated_phase_change() -> None:
    rng = np.random.default_rng(5)
    counts: list[WindowCount] = []
    for theme, before, after in (
        ("territorial_focus", 0.2, 0.08),
        ("returning_fighters", 0.05, 0.15),
        ("propaganda_collapse", 0.05, 0.15),
        ("other", 0.1, 0.1),
    ):
        for i in range(70):
            x = int(rng.binomial(100, before if i < 50 else after))
            counts.append(WindowCount(theme, day(i), day(i + 1), x, 100, min(x, 5)))
    settings = SignalSettings(
        composites=(
            NEW_PHASE,
            CompositeRule(
                id="other_rise",
                members=(
                    CompositeMember(theme="other", direction="rise"),
                    CompositeMember(theme="returning_fighters", direction="rise"),
                ),
            ),
        )
    )
    fired = run_composites(run_series(counts, settings), settings)
    assert [c.rule_id for c in fired] == ["new_phase"]
    assert day(50) <= fired[0].window_start <= day(60)
    assert {(m.theme, m.direction) for m in fired[0].members} == {
        ("territorial_focus", "fall"),
        ("returning_fighters", "rise"),
        ("propaganda_collapse", "rise"),
    }
