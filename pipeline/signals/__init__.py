"""Theme signals: pure detection math over window counts (no database, no clock).

Per theme and window: a trailing baseline (p0, phi), two one-sided binomial CUSUMs (rise, fall), a sparse rule for
themes with almost no hits, a health gate, explanations, and composite rules over several themes. Storage folds
``evaluate_window`` over windows as ``run_series`` does.
"""

from typing import TYPE_CHECKING

from pipeline.lazy import lazy_attributes
from pipeline.signals.settings import (
    CompositeMember,
    CompositeRule,
    HealthSettings,
    SignalSettings,
    SparseSettings,
)
from pipeline.signals.types import (
    CusumState,
    Decision,
    Direction,
    DirectionState,
    Explanation,
    Level,
    Method,
    SourceHealth,
    Span,
    WindowCount,
)

if TYPE_CHECKING:
    from pipeline.signals.arl import arl0_cusum, arl0_sparse, describe_false_alarm_rate
    from pipeline.signals.baseline import Baseline, compute_baseline
    from pipeline.signals.composite import CompositeDecision, Shift, ShiftKey, evaluate_composite, run_composites
    from pipeline.signals.cusum import evaluate_window
    from pipeline.signals.fold import fold_windows, run_series
    from pipeline.signals.health import HealthCheck, check_health

# The math modules (SciPy, NumPy) load on first use: the config schema imports this package for its
# settings, and every command would otherwise pay for SciPy at start-up.
_LAZY = {
    'arl0_cusum': 'arl',
    'arl0_sparse': 'arl',
    'describe_false_alarm_rate': 'arl',
    'Baseline': 'baseline',
    'compute_baseline': 'baseline',
    'CompositeDecision': 'composite',
    'Shift': 'composite',
    'ShiftKey': 'composite',
    'evaluate_composite': 'composite',
    'run_composites': 'composite',
    'evaluate_window': 'cusum',
    'fold_windows': 'fold',
    'run_series': 'fold',
    'HealthCheck': 'health',
    'check_health': 'health',
}


__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "Baseline",
    "CompositeDecision",
    "CompositeMember",
    "CompositeRule",
    "CusumState",
    "Decision",
    "Direction",
    "DirectionState",
    "Explanation",
    "HealthCheck",
    "HealthSettings",
    "Level",
    "Method",
    "Shift",
    "ShiftKey",
    "SignalSettings",
    "SourceHealth",
    "Span",
    "SparseSettings",
    "WindowCount",
    "arl0_cusum",
    "arl0_sparse",
    "check_health",
    "compute_baseline",
    "describe_false_alarm_rate",
    "evaluate_composite",
    "evaluate_window",
    "fold_windows",
    "run_composites",
    "run_series",
]
