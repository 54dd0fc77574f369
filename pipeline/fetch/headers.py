"""HTTP header helpers: request headers for conditional GET, and reading Retry-After."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from pipeline.fetch.settings import FetchSettings
from pipeline.types import SourceForUpdate

# Only encodings the body reader can decode within the size cap (see body.py); never br or zstd.
ACCEPT_ENCODING = "gzip, deflate"


def client_headers(settings: FetchSettings) -> dict[str, str]:
    """Headers sent with every request of a cycle."""
    return {"User-Agent": settings.user_agent, "Accept": settings.accept, "Accept-Encoding": ACCEPT_ENCODING}


def conditional_headers(source: SourceForUpdate) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from the validators of the source's last 200 response."""
    headers: dict[str, str] = {}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    return headers


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (relative to ``now``).

    Returns None when the value is missing or unreadable; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # HTTP dates are always GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
