"""Publication dates: to aware UTC, with sane fallbacks.

Feeds omit dates, put them in the future (time-zone slips, scheduled posts) or
in 1970 (a zero timestamp).  Trend counting needs every article in the right
window, so a date that cannot be right is replaced by the fetch time and the
article is flagged ``date_estimated``.  Pure functions: the fetch time is
passed in, never read from a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.errors import InputError

__all__ = ["DEFAULT_EARLIEST", "parse_iso8601", "resolve_published", "to_utc"]

DEFAULT_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def to_utc(value: datetime) -> datetime:
    """Return *value* as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _plausible(value: datetime, earliest: datetime, latest: datetime) -> bool:
    return earliest <= value <= latest


def resolve_published(
    published: datetime | None,
    updated: datetime | None,
    *,
    fetched_at: datetime,
    future_tolerance: timedelta = timedelta(days=1),
    earliest: datetime = DEFAULT_EARLIEST,
) -> tuple[datetime, bool]:
    """Pick the publication time of an entry: ``(when, estimated)``.

    The published date is used when plausible, else the updated date, else the
    fetch time (``estimated`` True).  Plausible means from *earliest* up to
    *fetched_at* + *future_tolerance* (clock skew and time-zone slips within
    the tolerance are kept as given).  The result is always aware UTC and never
    later than ``fetched_at + future_tolerance``.
    """
    fetched = to_utc(fetched_at)
    latest = fetched + future_tolerance
    low = to_utc(earliest)
    for candidate in (published, updated):
        if candidate is None:
            continue
        try:
            when = to_utc(candidate)
        except OverflowError:  # an offset pushes it past datetime.min/max
            continue
        if _plausible(when, low, latest):
            return when, False
    return fetched, True


def parse_iso8601(value: str, *, field: str = "published") -> datetime:
    """Parse an ISO 8601 date or date-time to aware UTC (naive means UTC); InputError names *field*."""
    text = value.strip()
    if not text:
        raise InputError(f"field {field!r}: empty date")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"field {field!r}: not an ISO 8601 date: {value!r}") from exc
    try:
        return to_utc(parsed)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00 cannot be moved to UTC
        raise InputError(f"field {field!r}: date out of range: {value!r}") from exc
