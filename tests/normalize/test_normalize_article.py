"""normalize_entry and normalize_import: what comes out, what is refused, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pipeline.errors import InputError
from pipeline.normalize import NormalizeSettings, content_hash, normalize_entry, normalize_import
from pipeline.types import ParsedEntry

FEED = "https://news.example.org/feeds/world.rss"
FETCHED = datetime(2024, 6, 1, 12, tzinfo=UTC)
BODY = " ".join(f"Sentence number {i} tells a little more of the story." for i in range(12))


def entry(**kw: object) -> ParsedEntry:
    fields: dict[str, object] = {
        "guid": None,
        "link": None,
        "title": None,
        "summary": None,
        "content": None,
        "published": None,
        "updated": None,
    }
    fields.update(kw)
    return ParsedEntry(**fields)  # type: ignore[arg-type]


def test_full_entry() -> None:
    article = normalize_entry(
        entry(
            guid="id-1",
            link="/world/story?utm_source=rss&id=3#top",
            title="Flood &amp; fire <b>warning</b>",
            summary="teaser",
            content=f"<p>{BODY}</p><script>x()</script>",
            published=datetime(2024, 5, 31, tzinfo=UTC),
        ),
        source_id=7,
        feed_url=FEED,
        fetched_at=FETCHED,
        settings=NormalizeSettings(),
    )
    assert article is not None
    assert article.source_id == 7
    assert article.identity == "guid:id-1"
    assert article.url == "https://news.example.org/world/story?id=3"
    assert article.title == "Flood & fire warning"
    assert article.text == BODY
    assert article.published_at == datetime(2024, 5, 31, tzinfo=UTC) and not article.date_estimated
    assert article.fetched_at == FETCHED
    assert article.content_hash == content_hash(article.title, article.text)
    assert len(article.shingle_signature) == 128


def test_identity_falls_back_to_url_then_hash() -> None:
    by_url = normalize_entry(
        entry(link="https://x.example/a", title="T"), source_id=1, feed_url=FEED, fetched_at=FETCHED
    )
    assert by_url is not None and by_url.identity == "url:https://x.example/a"
    by_hash = normalize_entry(entry(title="T", summary="some text"), source_id=1, feed_url=FEED, fetched_at=FETCHED)
    assert by_hash is not None and by_hash.identity == f"hash:{by_hash.content_hash}" and by_hash.url is None


def test_non_web_link_is_dropped_not_fatal() -> None:
    article = normalize_entry(
        entry(link="mailto:desk@example.org", title="T"), source_id=1, feed_url=FEED, fetched_at=FETCHED
    )
    assert article is not None and article.url is None


def test_entry_without_title_or_text_is_skipped() -> None:
    assert (
        normalize_entry(entry(guid="g", link="https://x.example/a"), source_id=1, feed_url=FEED, fetched_at=FETCHED)
        is None
    )
    assert (
        normalize_entry(
            entry(title="  ", summary="<p> </p><script>only()</script>"), source_id=1, feed_url=FEED, fetched_at=FETCHED
        )
        is None
    )


def test_summary_stands_in_for_a_body_without_text() -> None:
    article = normalize_entry(
        entry(title="T", content='<figure><img src="a.jpg" alt=""></figure>', summary="Words of the summary."),
        source_id=1,
        feed_url=FEED,
        fetched_at=FETCHED,
    )
    assert article is not None
    assert article.text == "Words of the summary."


def test_untitled_entry_gets_a_title_from_its_text() -> None:
    article = normalize_entry(entry(summary=BODY), source_id=1, feed_url=FEED, fetched_at=FETCHED)
    assert article is not None
    assert article.title.endswith("…") and len(article.title) <= 121 and BODY.startswith(article.title[:-1])


def test_dates_fall_back_and_clamp() -> None:
    missing = normalize_entry(entry(title="T"), source_id=1, feed_url=FEED, fetched_at=FETCHED)
    assert missing is not None and missing.published_at == FETCHED and missing.date_estimated
    future = normalize_entry(
        entry(title="T", published=FETCHED + timedelta(days=30)), source_id=1, feed_url=FEED, fetched_at=FETCHED
    )
    assert future is not None and future.published_at == FETCHED and future.date_estimated
    naive_fetch = normalize_entry(entry(title="T"), source_id=1, feed_url=FEED, fetched_at=datetime(2024, 6, 1))
    assert naive_fetch is not None and naive_fetch.fetched_at.tzinfo is UTC


def test_settings_apply() -> None:
    cfg = NormalizeSettings(
        tracking_params=("src",), future_tolerance=timedelta(0), max_text_chars=1000, min_shingles=1000
    )
    article = normalize_entry(
        entry(
            link="https://x.example/a?src=rss&id=1",
            title="T",
            content=BODY * 10,
            published=FETCHED + timedelta(minutes=5),
        ),
        source_id=1,
        feed_url=FEED,
        fetched_at=FETCHED,
        settings=cfg,
    )
    assert article is not None
    assert article.url == "https://x.example/a?id=1"
    assert article.published_at == FETCHED and article.date_estimated
    assert len(article.text) == 1000
    assert article.shingle_signature == ()


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError):
        NormalizeSettings(bands=33)
    with pytest.raises(ValidationError):
        NormalizeSettings(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        NormalizeSettings(future_tolerance=timedelta(hours=-1))
    assert NormalizeSettings.model_validate({"future_tolerance": 3600}).future_tolerance == timedelta(hours=1)
    assert NormalizeSettings(earliest_date=datetime(2000, 1, 1)).earliest_date.tzinfo is not None


# --- backfill import ----------------------------------------------------------------------------------------

LINE = {
    "url": "https://www.example.com/news/2017/03/story?utm_campaign=x",
    "title": "Venezuela crisis: GuaidÃ³ calls for support",
    "text": "<p>Opposition leader asks other nations to consider all measures.</p>",
    "published": "2017-03-01T10:00:00+01:00",
    "source": "Example News",
}


def test_import_line() -> None:
    article = normalize_import(LINE, source_id=3, fetched_at=FETCHED)
    assert article.identity == "url:https://www.example.com/news/2017/03/story"
    assert article.title == "Venezuela crisis: Guaidó calls for support"
    assert article.text == "Opposition leader asks other nations to consider all measures."
    assert article.published_at == datetime(2017, 3, 1, 9, tzinfo=UTC) and not article.date_estimated
    assert article.fetched_at == FETCHED and article.source_id == 3


def test_import_summary_stands_in_for_text_and_url_may_be_absent() -> None:
    line = {k: v for k, v in LINE.items() if k not in {"text", "url"}} | {"summary": "Short summary."}
    article = normalize_import(line, source_id=3, fetched_at=FETCHED)
    assert article.text == "Short summary." and article.url is None and article.identity.startswith("hash:")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": 12}, "url"),
        ({"title": ["a"]}, "title"),
        ({"published": None}, "published"),
        ({"published": "01/03/2017"}, "published"),
        ({"published": 1488362400}, "published"),
        ({"published": "1970-01-01"}, "published"),
        ({"published": "2030-01-01"}, "published"),
        ({"title": "", "text": "", "summary": None}, "title"),
    ],
)
def test_import_errors_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InputError, match=f"'{field}'"):
        normalize_import(LINE | change, source_id=3, fetched_at=FETCHED)


def test_import_rejects_non_objects() -> None:
    with pytest.raises(InputError, match="JSON object"):
        normalize_import(["not", "an", "object"], source_id=3, fetched_at=FETCHED)  # type: ignore[arg-type]
