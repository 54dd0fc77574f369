"""Entry identity and content hash."""

from __future__ import annotations

from pipeline.normalize.identity import MAX_IDENTITY_CHARS, content_hash, entry_identity


def test_guid_wins_then_url_then_hash() -> None:
    digest = content_hash("T", "text")
    assert entry_identity(" g-1 ", "https://x.example/a", digest) == "guid:g-1"
    assert entry_identity(None, "https://x.example/a", digest) == "url:https://x.example/a"
    assert entry_identity("   ", None, digest) == f"hash:{digest}"


def test_content_hash_is_sha256_and_stable() -> None:
    digest = content_hash("Title", "Body text")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == content_hash("Title", "Body text")
    assert digest == content_hash("  TITLE ", "body   text")  # case and spacing do not make a new story
    assert digest != content_hash("Title", "Other text")
    assert content_hash("ab", "c") != content_hash("a", "bc")  # the title/text boundary counts


def test_long_identities_are_hashed_but_keep_their_kind() -> None:
    guid = "https://x.example/?" + "q" * 2000
    identity = entry_identity(guid, None, content_hash("t", "x"))
    assert identity.startswith("guid-sha256:") and len(identity) <= MAX_IDENTITY_CHARS
    assert identity == entry_identity(guid, None, content_hash("other", "y"))
