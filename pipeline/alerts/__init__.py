"""Alerts: raising (with outbox rows), routing, grouping, silences, repeats, delivery through channels.

The package stays light on import (config.py imports the settings from here): ``dispatch_once``,
``DispatchSummary`` and ``raise_intent`` are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.alerts.values import AlertIntent, DispatchSummary

if TYPE_CHECKING:
    from pipeline.alerts.dispatch import dispatch_once
    from pipeline.alerts.raising import raise_intent

__all__ = ["AlertIntent", "DispatchSummary", "dispatch_once", "raise_intent"]


def __getattr__(name: str) -> Any:
    if name == "dispatch_once":
        from pipeline.alerts.dispatch import dispatch_once

        return dispatch_once
    if name == "raise_intent":
        from pipeline.alerts.raising import raise_intent

        return raise_intent
    raise AttributeError(f"module 'pipeline.alerts' has no attribute {name!r}")
