"""The health gate: shifts that volume or source mix may explain are flagged, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.errors import InputError
from pipeline.signals import HealthSettings, SignalSettings, SourceHealth, WindowCount, check_health, run_series

T0 = datetime(2018, 1, 1, tzinfo=UTC)


def win(i: int, x: int, n: int = 100, **kw: object) -> WindowCount:
    kw.setdefault("sources", min(x, 5))
    return WindowCount("t", T0 + timedelta(days=i), T0 + timedelta(days=i + 1), x, n, **kw)  # type: ignore[arg-type]


def test_a_third_of_sources_failing_is_flagged() -> None:
    gate = HealthSettings()
    flagged = check_health(win(0, 5, health=SourceHealth(active=12, ok=8)), 100.0, gate)
    assert flagged.flag and flagged.reason == "4 of 12 sources failed"
    fine = check_health(win(0, 5, health=SourceHealth(active=12, ok=9)), 100.0, gate)
    assert not fine.flag and fine.reason == ""


def test_volume_far_from_baseline_is_flagged_with_the_ratio() -> None:
    gate = HealthSettings()
    low = check_health(win(0, 5, n=38, health=SourceHealth(active=12, ok=8)), 100.0, gate)
    assert low.reason == "volume 38% of baseline (38 vs 100.0 stories); 4 of 12 sources failed"
    assert check_health(win(0, 5, n=201), 100.0, gate).reason.startswith("volume 201% of baseline")
    assert not check_health(win(0, 5, n=60), 100.0, gate).flag
    assert not check_health(win(0, 5, n=60), 0.0, gate).flag  # no baseline volume: nothing to compare


def test_hits_concentrated_in_one_source_are_flagged() -> None:
    gate = HealthSettings()
    assert check_health(win(0, 10, x_top_source=8), 100.0, gate).reason == "8 of 10 hits from one source"
    assert check_health(win(0, 5, sources=1), 100.0, gate).reason == "5 of 5 hits from one source"
    assert not check_health(win(0, 10, x_top_source=6), 100.0, gate).flag
    assert not check_health(win(0, 3, sources=1), 100.0, gate).flag  # too few hits to judge


def test_thresholds_are_settings() -> None:
    strict = HealthSettings(max_failed_fraction=0.1, volume_low=0.9)
    got = check_health(win(0, 5, n=85, health=SourceHealth(active=12, ok=10)), 100.0, strict)
    assert got.reasons == ("volume 85% of baseline (85 vs 100.0 stories)", "2 of 12 sources failed")


def test_a_flagged_alert_is_still_raised_and_carries_the_reason() -> None:
    counts = [win(i, 5, health=SourceHealth(12, 12)) for i in range(40)]
    counts += [win(40, 12, health=SourceHealth(12, 12)), win(41, 12, health=SourceHealth(12, 8))]
    ds = [d for d in run_series(counts, SignalSettings()) if d.direction == "rise"]
    assert ds[40].health_flag is False
    alert = ds[41]
    assert alert.level == "alert" and alert.health_flag and alert.health_reason == "4 of 12 sources failed"
    assert alert.explanation is not None
    assert alert.explanation.health_flag and "caution: 4 of 12 sources failed" in alert.explanation.summary


def test_source_health_must_be_consistent() -> None:
    with pytest.raises(InputError):
        SourceHealth(active=3, ok=4)
