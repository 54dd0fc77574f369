"""What a fetch returns, and the error tags it carries.

Errors never escape the fetch stage as exceptions: inside it they are raised as the project's
:class:`~pipeline.errors.FetchError` family, and at its border they become data in a
:class:`FetchOutcome` (``error`` text naming the URL, ``error_kind`` tag).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline.errors import BlockedURL, BodyTooLarge, FetchError, FetchTimeout
from pipeline.types import FetchResult


class ErrorKind(StrEnum):
    """The ``error_kind`` tags a failed fetch carries (plain strings in :class:`FetchResult`)."""

    TIMEOUT = "timeout"  # connect, read, write, pool timeout or the total per-fetch deadline
    TOO_LARGE = "too_large"  # decoded body over max_body_bytes
    HTTP_STATUS = "http_status"  # the server answered with an error status (4xx, 5xx, odd 3xx)
    NETWORK = "network"  # DNS, refused, reset, protocol or decoding failure
    BLOCKED = "blocked"  # refused by policy: scheme, or a non-public address
    REDIRECTS = "redirects"  # too many redirects, or a redirect loop
    INVALID_URL = "invalid_url"  # the URL (or a Location header) cannot be parsed
    INTERNAL = "internal"  # a bug in the fetcher; logged with its traceback


class InvalidFeedURL(FetchError, ValueError):
    """A feed URL or redirect target that cannot be parsed or has no host."""


class RedirectError(FetchError):
    """Too many redirects, or a redirect back to a URL already visited."""


def error_kind(exc: FetchError) -> ErrorKind:
    """The tag for a fetch error."""
    if isinstance(exc, FetchTimeout):
        return ErrorKind.TIMEOUT
    if isinstance(exc, BodyTooLarge):
        return ErrorKind.TOO_LARGE
    if isinstance(exc, BlockedURL):
        return ErrorKind.BLOCKED
    if isinstance(exc, RedirectError):
        return ErrorKind.REDIRECTS
    if isinstance(exc, InvalidFeedURL):
        return ErrorKind.INVALID_URL
    if exc.status is not None:
        return ErrorKind.HTTP_STATUS
    return ErrorKind.NETWORK


@dataclass(frozen=True, slots=True)
class FetchOutcome(FetchResult):
    """A :class:`FetchResult` plus what the shared type does not carry yet.

    ``permanent_redirect``: the URL a chain of permanent redirects (301/308, from the first hop on)
    led to, set only when the fetch then succeeded, so storage can move the source there.
    ``redirects``: every URL visited after the source URL, in order.
    """

    permanent_redirect: str | None = None
    redirects: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the fetch succeeded (new body or not modified)."""
        return self.error is None
