"""Normalization: feed entries and backfill lines become :class:`~pipeline.types.ArticleData`.

One module per concern: ``urls`` (canonical URLs), ``text`` (HTML to clean
text), ``dates`` (UTC and fallbacks), ``identity`` (per-source identity and
content hash), ``near_dup`` (MinHash signatures and LSH band keys); ``article``
puts them together.  Pure functions: no database, no network, no clock.
"""

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
