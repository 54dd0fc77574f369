"""Small typed values passed between pipeline stages.

Each is named for where it goes: ``SourceForUpdate`` comes out of storage into
fetching, ``FetchResult`` goes from fetching into parsing, ``ParsedFeed`` from
parsing into normalization, ``ArticleData`` from normalization into storage,
``ThemeHit`` from the theme matcher into storage.  Values are frozen; times are
timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SourceForUpdate:
    """A feed that is due, as storage hands it to the fetcher."""

    id: int
    name: str
    url: str
    etag: str | None = None  # validator from the last 200 response
    last_modified: str | None = None  # Last-Modified header from the last 200 response
    body_hash: str | None = None  # sha256 of the last parsed body
    error_count: int = 0  # consecutive failures so far
    item_digests: bytes | None = None  # raw-item digests of the last processed document (parse.items)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one HTTP fetch of a feed produced (never raised: errors are data here)."""

    source_id: int
    url: str  # final URL after redirects
    status: int | None  # HTTP status, None when no response arrived
    fetched_at: datetime
    body: bytes | None = None  # None on 304, on an unchanged body hash, and on errors
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased response headers
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    not_modified: bool = False  # 304, or a 200 whose body hash is unchanged
    retry_after: float | None = None  # seconds, from Retry-After on 429/503
    error: str | None = None  # a clear message when the fetch failed
    error_kind: str | None = None  # short machine tag: timeout, too_large, http_status, network, blocked
    elapsed: float = 0.0  # seconds
    known_items: bytes | None = None  # the last document's raw-item digests (poll cycle); None: do not scan


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One feed entry as feedparser read it, before normalization."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None  # HTML or text
    content: str | None  # the fullest content body, HTML or text
    published: datetime | None  # UTC, None when the feed gives no usable date
    updated: datetime | None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed document."""

    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    version: str | None = None
    warning: str | None = None  # feedparser's bozo exception text, if the document was ill-formed


@dataclass(frozen=True, slots=True)
class ArticleData:
    """A normalized article ready to be stored (from a feed or a backfill import)."""

    source_id: int
    identity: str  # stable per-source identity: guid, else canonical link, else content hash
    url: str | None  # canonical URL
    title: str
    text: str  # plain text, entities and mojibake repaired
    published_at: datetime  # UTC
    fetched_at: datetime  # UTC
    content_hash: str  # sha256 of normalized title + text
    date_estimated: bool = False  # True when published_at fell back (missing, or clamped from the future)
    shingle_signature: tuple[int, ...] = ()  # MinHash signature for near-duplicate clustering
    entry_digest: str | None = None  # digest of the feed entry it came from (None for imports)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One matched span in an article's text."""

    start: int  # character offsets into the matched text
    end: int
    term: str  # the rule or term that matched
    snippet: str  # a short window of text around the span


@dataclass(frozen=True, slots=True)
class ThemeHit:
    """A theme an article carries, with the evidence for it."""

    theme: str
    score: float
    evidence: tuple[Evidence, ...]
    version: str  # hash of the theme definition that produced the hit
