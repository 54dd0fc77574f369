"""Window arithmetic: windows are fixed-length UTC intervals aligned to the Unix epoch.

With the default length of 24 hours a window is one UTC day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(t: datetime, hours: float) -> datetime:
    """The start of the window holding ``t``."""
    length = timedelta(hours=hours)
    return EPOCH + ((t.astimezone(UTC) - EPOCH) // length) * length


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z suffix: the one form every output (CLI, API, payloads) uses."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
