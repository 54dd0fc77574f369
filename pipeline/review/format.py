"""Pure formatting of numbers, times and windows for the review page (Jinja filters)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit


def parse_time(value: Any) -> datetime | None:
    """A datetime from a datetime or ISO 8601 text (as explanations store them); None when it is neither."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def num(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; "n/a" for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", "\u202f")
    v = _finite(value)
    if v is None:
        return "n/a"
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}".replace(",", "\u202f")
    return f"{v:.{digits}g}"


def pct(value: Any) -> str:
    """A proportion as a percentage with three significant digits (0.0812 -> "8.12 %")."""
    v = _finite(value)
    if v is None:
        return "n/a"
    if v == 0:
        return "0 %"
    return f"{v * 100:.3g} %"


def pvalue(value: Any) -> str:
    """A p-value: plain down to 0.001, scientific below."""
    v = _finite(value)
    if v is None:
        return "n/a"
    if v == 0:
        return "< 1e-300"
    return f"{v:.3f}" if v >= 0.001 else f"{v:.1e}"


def ratio(value: Any) -> str:
    v = _finite(value)
    return "n/a" if v is None else f"{v:.2f}\u00d7"


def _num3(value: Any) -> str:
    return num(value, 3)


def interval(value: Any, fmt: str = "pct") -> str:
    """A (low, high) pair as "low – high" in the given format (pct, ratio or num); "" when absent."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return ""
    lo, hi = value
    f: Callable[[Any], str] = {"pct": pct, "ratio": _num3, "num": num}[fmt]
    return f"{f(lo)} \u2013 {f(hi)}"


def when(value: Any) -> str:
    """A time as "2024-05-01 08:00 UTC"."""
    t = parse_time(value)
    return "\u2014" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: Any) -> str:
    t = parse_time(value)
    return "\u2014" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d")


def window(start: Any, end: Any) -> str:
    """A window as a day when it is one whole UTC day, else as a time range."""
    s, e = parse_time(start), parse_time(end)
    if s is None:
        return "\u2014"
    s = s.astimezone(UTC)
    if e is None:
        return when(s)
    e = e.astimezone(UTC)
    if e - s == timedelta(days=1) and s.hour == s.minute == s.second == 0:
        return s.strftime("%Y-%m-%d")
    if s.date() == e.date() or (e - s <= timedelta(days=1) and e.hour == e.minute == 0):
        return f"{s:%Y-%m-%d %H:%M}\u2013{e:%H:%M} UTC"
    return f"{s:%Y-%m-%d %H:%M} \u2013 {e:%Y-%m-%d %H:%M} UTC"


def ago(value: Any, now: datetime) -> str:
    """How long before ``now`` a time was, coarsely ("5 min ago", "3 h ago", "2 d ago")."""
    t = parse_time(value)
    if t is None:
        return "never"
    secs = (now - t).total_seconds()
    future = secs < 0
    secs = abs(secs)
    if secs < 90:
        text = f"{int(secs)} s"
    elif secs < 5400:
        text = f"{round(secs / 60)} min"
    elif secs < 2 * 86400:
        text = f"{round(secs / 3600)} h"
    else:
        text = f"{round(secs / 86400)} d"
    return f"in {text}" if future else f"{text} ago"


def safe_href(url: Any) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None: hostile feeds may carry javascript: links."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


FILTERS = {
    "num": num, "pct": pct, "pvalue": pvalue, "ratio": ratio, "interval": interval, "when": when, "day": day,
    "window": window, "safe_href": safe_href, "ago": ago,
}
