"""Normalization: feed entries and backfill lines become :class:`~pipeline.types.ArticleData`.

One module per concern: ``urls`` (canonical URLs), ``text`` (HTML to clean
text), ``dates`` (UTC and fallbacks), ``identity`` (per-source identity and
content hash), ``near_dup`` (MinHash signatures and LSH band keys); ``article``
puts them together.  Pure functions: no database, no network, no clock.
"""

from typing import TYPE_CHECKING

from pipeline.lazy import lazy_attributes

if TYPE_CHECKING:
    from pipeline.normalize.article import normalize_entry, normalize_import, skip_reason
    from pipeline.normalize.dates import parse_iso8601, resolve_published, to_utc
    from pipeline.normalize.identity import content_hash, entry_identity
    from pipeline.normalize.near_dup import (
        band_keys,
        is_near_duplicate,
        signature,
        signature_from_bytes,
        signature_to_bytes,
        similarity,
    )
    from pipeline.normalize.settings import NormalizeSettings
    from pipeline.normalize.text import clean_text, clean_title, html_to_text
    from pipeline.normalize.urls import canonical_url

# Each name loads its module on first use: the config schema imports this package for NormalizeSettings,
# and only processes that normalize text need ftfy, selectolax and w3lib (a poll of unchanged feeds, or
# `alerts list`, never does).
_LAZY = {
    "normalize_entry": "article",
    "normalize_import": "article",
    "skip_reason": "article",
    "parse_iso8601": "dates",
    "resolve_published": "dates",
    "to_utc": "dates",
    "content_hash": "identity",
    "entry_identity": "identity",
    "band_keys": "near_dup",
    "is_near_duplicate": "near_dup",
    "signature": "near_dup",
    "signature_from_bytes": "near_dup",
    "signature_to_bytes": "near_dup",
    "similarity": "near_dup",
    "NormalizeSettings": "settings",
    "clean_text": "text",
    "clean_title": "text",
    "html_to_text": "text",
    "canonical_url": "urls",
}


__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "NormalizeSettings",
    "band_keys",
    "canonical_url",
    "clean_text",
    "clean_title",
    "content_hash",
    "entry_identity",
    "html_to_text",
    "is_near_duplicate",
    "normalize_entry",
    "normalize_import",
    "parse_iso8601",
    "resolve_published",
    "signature",
    "signature_from_bytes",
    "signature_to_bytes",
    "similarity",
    "skip_reason",
    "to_utc",
]
