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
# _fold for ASCII in one C pass: whitespace (what \s and str.isspace match) becomes a space,
# A-Z lower case (NFKC and casefold do nothing else to ASCII).
_ASCII_FOLD = bytes(0x20 if chr(c).isspace() else ord(chr(c).lower()) for c in range(128)) + bytes(range(128, 256))


def _fold(text: str) -> str:
    """Case-, width- and whitespace-insensitive form used only for hashing."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _folded_bytes(text: str) -> bytes:
    """``_fold(text)`` UTF-8 encoded; ASCII text (most of it) without the regex pass."""
    if not text.isascii():
        return _fold(text).encode()
    folded = text.encode("ascii").translate(_ASCII_FOLD)
    # Only spaces are left as whitespace: collapse runs of them only when there are any.
    return b" ".join(folded.split()) if b"  " in folded else folded.strip(b" ")


def content_hash(title: str, text: str) -> str:
    """sha256 (hex) of the normalized title and text; equal for copies that differ only in case or spacing."""
    return hashlib.sha256(b"%s\n%s" % (_folded_bytes(title), _folded_bytes(text))).hexdigest()


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
