"""Turn a parsed feed entry, or a backfill line, into an :class:`ArticleData`."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from pipeline.errors import InputError
from pipeline.normalize.dates import parse_iso8601, resolve_published, to_utc
from pipeline.normalize.identity import content_hash, entry_identity
from pipeline.normalize.near_dup import signature
from pipeline.normalize.settings import NormalizeSettings
from pipeline.normalize.text import clean_title, html_to_text
from pipeline.normalize.urls import canonical_url
from pipeline.types import ArticleData, ParsedEntry

__all__ = [
    "NORMALIZATION_VERSION",
    "NO_CONTENT",
    "add_signature",
    "entry_digest",
    "known_identity",
    "normalization_key",
    "normalize_entry",
    "normalize_import",
    "skip_reason",
]

log = logging.getLogger(__name__)

_DEFAULT_SETTINGS = NormalizeSettings()
NO_CONTENT = "entry has neither a title nor any text"
_TITLE_FROM_TEXT_CHARS = 120


# Part of every entry digest: raise it whenever normalize_entry would turn the same entry into a different
# title, text, URL or identity, so that stored entries are normalized again rather than skipped as unchanged.
NORMALIZATION_VERSION = 1
_ABSOLUTE = ("http://", "https://")


@lru_cache(maxsize=8)
def _settings_key(settings: NormalizeSettings) -> bytes:
    """The settings that shape an article's title, text, URL and identity, as bytes for the digest."""
    return repr((settings.tracking_params, settings.max_title_chars, settings.max_text_chars)).encode()


def normalization_key(settings: NormalizeSettings | None = None) -> bytes:
    """NORMALIZATION_VERSION and the settings that shape articles: part of every digest that lets a poll
    skip normalizing, so that a new version or setting normalizes stored entries again."""
    return b"v%d\0%s" % (NORMALIZATION_VERSION, _settings_key(settings or _DEFAULT_SETTINGS))


def entry_digest(entry: ParsedEntry, feed_url: str, settings: NormalizeSettings | None = None) -> str:
    """A digest of everything :func:`normalize_entry` makes an article's title, text, URL and identity from.

    Equal digests mean equal normalized articles, so a stored entry whose digest matches is unchanged
    without normalizing it again. Dates are left out on purpose: a re-dated entry with the same content is
    unchanged, as its content hash says too. The feed's URL counts only for a link that is not absolute
    (the one thing resolved against it), so a feed that moves keeps its entries' digests. Each part is
    length-prefixed (None apart from ""), so different entries cannot run together into the same bytes.
    """
    h = hashlib.blake2b(digest_size=16)
    base = None if entry.link and entry.link.lstrip()[:8].lower().startswith(_ABSOLUTE) else feed_url
    for part in (normalization_key(settings), base, entry.guid, entry.link, entry.title, entry.summary,
                 entry.content):
        if part is None:
            h.update(b"\xff" * 8)
            continue
        data = part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def known_identity(entry: ParsedEntry, feed_url: str, settings: NormalizeSettings | None = None) -> str | None:
    """The identity :func:`normalize_entry` will give ``entry``, when it does not depend on the content:
    from the guid, else the canonical link; None for an entry with neither (its identity is its hash)."""
    if entry.guid is not None and entry.guid.strip():
        return entry_identity(entry.guid, None, "")
    cfg = settings or _DEFAULT_SETTINGS
    url = canonical_url(entry.link, feed_url, extra_tracking=cfg.tracking_params)
    return entry_identity(None, url, "") if url else None


def _title_from_text(text: str) -> str:
    """A stand-in title for an untitled entry: its first line, cut at a word boundary."""
    first = text.split("\n", 1)[0]
    if len(first) <= _TITLE_FROM_TEXT_CHARS:
        return first
    cut = first[:_TITLE_FROM_TEXT_CHARS].rsplit(" ", 1)[0] or first[:_TITLE_FROM_TEXT_CHARS]
    return cut + "…"


def _build(
    *,
    source_id: int,
    guid: str | None,
    url: str | None,
    title: str,
    text: str,
    published_at: datetime,
    date_estimated: bool,
    fetched_at: datetime,
    settings: NormalizeSettings,
    with_signature: bool = True,
    raw_digest: str | None = None,
) -> ArticleData:
    text = text[: settings.max_text_chars]
    title = (title or _title_from_text(text))[: settings.max_title_chars]
    digest = content_hash(title, text)
    sig = _signature(title, text, settings) if with_signature else ()
    return ArticleData(
        source_id=source_id,
        identity=entry_identity(guid, url, digest),
        url=url,
        title=title,
        text=text,
        published_at=published_at,
        fetched_at=fetched_at,
        content_hash=digest,
        date_estimated=date_estimated,
        shingle_signature=sig,
        entry_digest=raw_digest,
    )


def _signature(title: str, text: str, settings: NormalizeSettings) -> tuple[int, ...]:
    return signature(f"{title}\n{text}", shingle_size=settings.shingle_size, num_perm=settings.num_perm,
                     min_shingles=settings.min_shingles)


def add_signature(article: ArticleData, settings: NormalizeSettings | None = None) -> ArticleData:
    """``article`` with its MinHash signature, for one normalized with ``with_signature=False``."""
    cfg = settings or _DEFAULT_SETTINGS
    return replace(article, shingle_signature=_signature(article.title, article.text, cfg))


def skip_reason(title: str, text: str) -> str | None:
    """Why an entry cannot become an article (None when it can): it needs a title or some text."""
    if not title and not text:
        return NO_CONTENT
    return None


def normalize_entry(
    entry: ParsedEntry,
    *,
    source_id: int,
    feed_url: str,
    fetched_at: datetime,
    settings: NormalizeSettings | None = None,
    with_signature: bool = True,
    digest: str | None = None,
) -> ArticleData | None:
    """Normalize one feed entry; None (logged at debug with the reason) when there is nothing to store.

    Links resolve against *feed_url*; a non-http(s) link leaves ``url`` None.  An
    entry without a usable date is dated *fetched_at* and flagged ``date_estimated``.
    ``with_signature=False`` leaves the MinHash signature (most of the cost) empty, for a caller that
    first checks whether the article is already stored; :func:`add_signature` adds it later. ``digest`` is
    the entry's :func:`entry_digest` when the caller has it already (it is computed otherwise).
    """
    cfg = settings or _DEFAULT_SETTINGS
    fetched = to_utc(fetched_at)
    title = clean_title(entry.title, max_chars=cfg.max_title_chars)
    # The fullest body may hold no text at all (only an image or a video); the summary may,
    # unless it is that same body (the parser's fallback when a feed has no separate content).
    text = html_to_text(entry.content) or (html_to_text(entry.summary) if entry.summary != entry.content else "")
    reason = skip_reason(title, text)
    if reason is not None:
        log.debug("skipping entry %r of %s: %s", entry.guid or entry.link, feed_url, reason)
        return None
    url = canonical_url(entry.link, feed_url, extra_tracking=cfg.tracking_params)
    published, estimated = resolve_published(
        entry.published,
        entry.updated,
        fetched_at=fetched,
        future_tolerance=cfg.future_tolerance,
        earliest=cfg.earliest_date,
    )
    return _build(
        source_id=source_id,
        guid=entry.guid,
        url=url,
        title=title,
        text=text,
        published_at=published,
        date_estimated=estimated,
        fetched_at=fetched,
        settings=cfg,
        with_signature=with_signature,
        raw_digest=digest or entry_digest(entry, feed_url, cfg),
    )


def _optional_str(obj: Mapping[str, object], field: str) -> str | None:
    value = obj.get(field)
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"field {field!r}: expected a string, got {type(value).__name__}")


def normalize_import(
    obj: Mapping[str, object],
    *,
    source_id: int,
    fetched_at: datetime,
    settings: NormalizeSettings | None = None,
) -> ArticleData:
    """Normalize one backfill line ``{url, title, text or summary, published, source}``.

    ``published`` (ISO 8601) is required and must lie between the configured
    earliest date and *fetched_at* plus the future tolerance: a backfill dated
    by its import time would fake a trend, so there is no fallback here.
    ``url`` may be absent (identity is then the content hash) but, when given,
    must be an absolute http(s) URL.  Raises InputError naming the bad field.
    """
    if not isinstance(obj, Mapping):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}")
    cfg = settings or _DEFAULT_SETTINGS
    fetched = to_utc(fetched_at)

    raw_url = _optional_str(obj, "url")
    url = None
    if raw_url is not None and raw_url.strip():
        url = canonical_url(raw_url, extra_tracking=cfg.tracking_params)
        if url is None:
            raise InputError(f"field 'url': not an absolute http(s) URL: {raw_url[:200]!r}")

    title = clean_title(_optional_str(obj, "title"), max_chars=cfg.max_title_chars)
    text = html_to_text(_optional_str(obj, "text")) or html_to_text(_optional_str(obj, "summary"))
    if skip_reason(title, text) is not None:
        raise InputError("fields 'title' and 'text'/'summary': at least one must hold some text")

    raw_published = obj.get("published")
    if not isinstance(raw_published, str):
        got = "nothing" if raw_published is None else type(raw_published).__name__
        raise InputError(f"field 'published': expected an ISO 8601 date string, got {got}")
    published = parse_iso8601(raw_published, field="published")
    if published < cfg.earliest_date or published > fetched + cfg.future_tolerance:
        raise InputError(
            f"field 'published': {raw_published!r} is outside {cfg.earliest_date.date()} .. "
            f"{(fetched + cfg.future_tolerance).isoformat()}"
        )
    return _build(
        source_id=source_id,
        guid=None,
        url=url,
        title=title,
        text=text,
        published_at=published,
        date_estimated=False,
        fetched_at=fetched,
        settings=cfg,
    )
