"""Stable per-source identity of an entry, and the exact content hash.

The identity decides whether a polled entry is one already stored for the
same source: the feed's guid when it gives one, else the canonical link, else
a hash of the content.  The kind is a prefix (``guid:``, ``url:``, ``hash:``)
so the three can never collide.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["MAX_IDENTITY_CHARS", "content_hash", "entry_identity"]

# Longer identities (some feeds use whole URLs with huge queries as guids) are
# stored as a hash of themselves so an index on the column stays small.
MAX_IDENTITY_CHARS = 512
_WS = re.compile(r"\s+")


def _fold(text: str) -> str:
    """Case-, width- and whitespace-insensitive form used only for hashing."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(title: str, text: str) -> str:
    """sha256 (hex) of the normalized title and text; equal for copies that differ only in case or spacing."""
    payload = f"{_fold(title)}\n{_fold(text)}".encode()
    return hashlib.sha256(payload).hexdigest()


def _bounded(kind: str, value: str) -> str:
    identity = f"{kind}:{value}"
    if len(identity) <= MAX_IDENTITY_CHARS:
        return identity
    return f"{kind}-sha256:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


def entry_identity(guid: str | None, canonical_link: str | None, digest: str) -> str:
    """Identity of an entry within its source: ``guid:…``, else ``url:…``, else ``hash:…``.

    *digest* is the entry's :func:`content_hash`; a blank guid counts as none.
    """
    if guid is not None and guid.strip():
        return _bounded("guid", guid.strip())
    if canonical_link:
        return _bounded("url", canonical_link)
    return f"hash:{digest}"
