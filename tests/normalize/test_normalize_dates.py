"""Publication dates: UTC, fallbacks and clamping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import InputError
from pipeline.normalize.dates import parse_iso8601, resolve_published, to_utc

FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_plausible_published_is_kept() -> None:
    when = datetime(2024, 5, 31, 8, 0, tzinfo=UTC)
    assert resolve_published(when, None, fetched_at=FETCHED) == (when, False)


def test_offsets_become_utc() -> None:
    when = datetime(2024, 5, 31, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    got, estimated = resolve_published(when, None, fetched_at=FETCHED)
    assert got == datetime(2024, 5, 31, 8, 0, tzinfo=UTC) and got.tzinfo is UTC and not estimated


def test_naive_is_taken_as_utc() -> None:
    assert to_utc(datetime(2024, 1, 1, 5)) == datetime(2024, 1, 1, 5, tzinfo=UTC)
    got, _ = resolve_published(datetime(2024, 1, 1, 5), None, fetched_at=datetime(2024, 6, 1))
    assert got == datetime(2024, 1, 1, 5, tzinfo=UTC)


def test_missing_falls_back_to_updated_then_fetch_time() -> None:
    updated = datetime(2024, 5, 30, tzinfo=UTC)
    assert resolve_published(None, updated, fetched_at=FETCHED) == (updated, False)
    assert resolve_published(None, None, fetched_at=FETCHED) == (FETCHED, True)


def test_far_future_is_clamped_to_fetch_time() -> None:
    assert resolve_published(FETCHED + 2 * DAY, None, fetched_at=FETCHED) == (FETCHED, True)


def test_small_clock_skew_is_kept() -> None:
    ahead = FETCHED + timedelta(hours=3)
    assert resolve_published(ahead, None, fetched_at=FETCHED) == (ahead, False)
    assert resolve_published(ahead, None, fetched_at=FETCHED, future_tolerance=timedelta(0)) == (FETCHED, True)


def test_absurd_past_falls_back() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert resolve_published(epoch, None, fetched_at=FETCHED) == (FETCHED, True)
    updated = datetime(2024, 5, 1, tzinfo=UTC)
    assert resolve_published(epoch, updated, fetched_at=FETCHED) == (updated, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-03-01", datetime(2017, 3, 1, tzinfo=UTC)),
        ("2017-03-01T10:00:00Z", datetime(2017, 3, 1, 10, tzinfo=UTC)),
        ("2017-03-01T10:00:00+02:00", datetime(2017, 3, 1, 8, tzinfo=UTC)),
        ("2017-03-01 10:00", datetime(2017, 3, 1, 10, tzinfo=UTC)),
    ],
)
def test_parse_iso8601(text: str, expected: datetime) -> None:
    assert parse_iso8601(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2017/03/01", "2017-13-01", "01.03.2017"])
def test_parse_iso8601_names_the_field(text: str) -> None:
    with pytest.raises(InputError, match="'when'"):
        parse_iso8601(text, field="when")


_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_any_dt = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets),
)


@settings(max_examples=500, deadline=None)
@given(
    _any_dt,
    _any_dt,
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.one_of(st.none(), _offsets)
    ),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
def test_result_is_aware_utc_and_never_beyond_the_tolerance(
    published: datetime | None, updated: datetime | None, fetched: datetime, tolerance: timedelta
) -> None:
    got, estimated = resolve_published(published, updated, fetched_at=fetched, future_tolerance=tolerance)
    assert got.tzinfo is UTC
    assert got <= to_utc(fetched) + tolerance
    assert got >= datetime(1990, 1, 1, tzinfo=UTC)
    if estimated:
        assert got == to_utc(fetched)
