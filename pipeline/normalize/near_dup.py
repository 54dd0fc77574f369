"""Near-duplicate support: MinHash signatures and LSH band keys.

Syndicated copies of one story (a wire report republished with another
headline, a byline, a sentence added, boilerplate appended) share most of
their word shingles.  Each article gets a MinHash signature over the set of
its word k-shingles (datasketch's "affine32" scheme, fixed seed); storage keeps
the band keys of the signature in an index so that candidate copies are found
by equal keys, then confirmed with :func:`similarity`.

Figures (measured on the 3,788 non-empty articles of NewsArticles 2017 with
bench/bench_near_dup.py): with 3-word shingles, distinct articles have a Jaccard
similarity under 0.06 (99.9 % of random pairs under 0.03); a copy with a new
headline, a byline, a sentence and boilerplate added sits at a median of 0.87
(95 % above 0.58); rewrites of one developing story sit around 0.4-0.5.  With
128 permutations in 32 bands of 4 rows, a pair at Jaccard 0.5 becomes a
candidate with probability 0.87, at 0.6 with 0.99, at 0.1 with 0.003; a
signature takes about 0.1 ms for a typical (450-word) article.

Texts with fewer than ``min_shingles`` shingles (a bare headline) get an empty
signature and no band keys: a handful of shared words proves nothing, so such
articles are matched by exact content hash only.

Signatures are stored, so their values must not change between runs: shingle
hashes are CRC-32 (stable across processes, unlike ``hash()``) and the
permutations come from a fixed seed.  The arithmetic is datasketch's
``MinHash(num_perm, seed=1, hashfunc=zlib.crc32, scheme="affine32")``
(datasketch >= 2.0) done here in one numpy expression, without its per-call
overhead (and without importing datasketch, which pulls in SciPy); a golden
test pins one signature and a property test compares against datasketch
itself, so a change that alters them is caught.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING

from pipeline.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_MIN_SHINGLES",
    "DEFAULT_NUM_PERM",
    "DEFAULT_SHINGLE_SIZE",
    "DEFAULT_THRESHOLD",
    "band_keys",
    "is_near_duplicate",
    "shingles",
    "signature",
    "signature_from_bytes",
    "signature_to_bytes",
    "similarity",
]

DEFAULT_SHINGLE_SIZE = 3
DEFAULT_NUM_PERM = 128
DEFAULT_BANDS = 32
DEFAULT_MIN_SHINGLES = 20
DEFAULT_THRESHOLD = 0.5
_SEED = 1

# A word is a run of letters/digits; a CJK, kana or hangul character counts as a
# word of its own, since those scripts do not separate words with spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
# For ASCII text the same words in one C pass: a word character ([0-9A-Za-z_], what \w is
# in ASCII) maps to itself lower-cased (casefold of ASCII), every other byte to a space.
_ASCII_WORDS = bytes(
    (c | 0x20 if 65 <= c <= 90 else c) if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(128)
) + bytes(range(128, 256))
# Shingles hashed per numpy pass: bounds the (num_perm x chunk) temporary for very long texts.
_CHUNK = 4096


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """datasketch's "affine32" parameters ``(a, b)`` for seed 1, as column vectors.

    The same draws, in the same order, from the same generator as
    ``MinHash._init_permutations``: ``a`` odd in [1, 2**32), ``b`` in [0, 2**32).
    """
    import numpy as np  # here, not at the top: only signature-making processes need numpy

    gen = np.random.RandomState(_SEED)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a.reshape(-1, 1), b.reshape(-1, 1)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def shingles(text: str, size: int = DEFAULT_SHINGLE_SIZE) -> set[str]:
    """The set of word *size*-shingles of *text* (case-folded); one shingle for a text shorter than *size*."""
    words = _words(text)
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _shingle_bytes(text: str, size: int) -> list[bytes]:
    """:func:`shingles` as UTF-8 (surrogatepass) bytes, in text order, repeats included."""
    if text.isascii():
        words = text.encode("ascii").translate(_ASCII_WORDS).split()
    else:
        # No word holds a space, and UTF-8 never puts a 0x20 byte inside a character.
        found = _words(text)
        words = " ".join(found).encode("utf-8", "surrogatepass").split(b" ") if found else []
    if len(words) <= size:
        return [b" ".join(words)] if words else []
    # Each window of *size* words: zip over shifted lists (unequal lengths on purpose), no slice per shingle.
    return list(map(b" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


def _minhash(grams: list[bytes], num_perm: int) -> tuple[int, ...]:
    """datasketch's affine32 update: CRC-32, MurmurHash3 fmix32, then ``min(a * h + b mod 2**32)``."""
    import numpy as np

    a, b = _permutations(num_perm)
    mins: npt.NDArray[np.uint32] | None = None
    for start in range(0, len(grams), _CHUNK):
        part = grams[start : start + _CHUNK]
        h = np.fromiter(map(zlib.crc32, part), dtype=np.uint32, count=len(part))
        # fmix32 in place; uint32 array arithmetic wraps, which is the intended modulo 2**32.
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
        phv = a * h
        phv += b
        low = phv.min(axis=1)
        mins = low if mins is None else np.minimum(mins, low)
    assert mins is not None  # grams is never empty here
    return tuple(mins.tolist())


def signature(
    text: str,
    *,
    shingle_size: int = DEFAULT_SHINGLE_SIZE,
    num_perm: int = DEFAULT_NUM_PERM,
    min_shingles: int = DEFAULT_MIN_SHINGLES,
) -> tuple[int, ...]:
    """MinHash signature (*num_perm* unsigned 32-bit ints) of the word shingles of *text*.

    Empty when *text* has fewer than *min_shingles* distinct shingles: too short to compare.
    """
    grams = _shingle_bytes(text, shingle_size)
    need = max(min_shingles, 1)
    # Repeated shingles do not change a minimum, so only the count needs distinct ones, and a
    # prefix that already holds enough settles it without hashing every shingle into a set.
    if len(grams) < need or (len(set(grams[: 4 * need])) < need and len(set(grams)) < need):
        return ()
    return _minhash(grams, num_perm)


def band_keys(sig: tuple[int, ...], *, bands: int = DEFAULT_BANDS) -> list[str]:
    """LSH band keys of *sig*: ``"BB:hex"``, one per band; two signatures sharing a key are candidates.

    Empty for an empty signature.  ``len(sig)`` must be a multiple of *bands*.
    """
    if not sig:
        return []
    if bands < 1 or len(sig) % bands:
        raise InputError(f"band_keys: a signature of {len(sig)} values cannot be cut into {bands} equal bands")
    packed = struct.pack(f"<{len(sig)}I", *sig)
    step = len(packed) // bands
    return [
        f"{band:02d}:{hashlib.blake2b(packed[band * step : (band + 1) * step], digest_size=8).hexdigest()}"
        for band in range(bands)
    ]


def similarity(sig_a: tuple[int, ...], sig_b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures (0.0 if either is empty)."""
    if not sig_a or not sig_b:
        return 0.0
    if len(sig_a) != len(sig_b):
        raise InputError(f"similarity: signatures differ in length ({len(sig_a)} and {len(sig_b)})")
    return sum(a == b for a, b in zip(sig_a, sig_b, strict=True)) / len(sig_a)


def is_near_duplicate(sig_a: tuple[int, ...], sig_b: tuple[int, ...], threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when both signatures are non-empty and their estimated similarity reaches *threshold*."""
    return bool(sig_a) and bool(sig_b) and similarity(sig_a, sig_b) >= threshold


def signature_to_bytes(sig: tuple[int, ...]) -> bytes:
    """Pack a signature compactly (4 bytes a value, little-endian) for storage."""
    return struct.pack(f"<{len(sig)}I", *sig)


def signature_from_bytes(data: bytes) -> tuple[int, ...]:
    """Inverse of :func:`signature_to_bytes`."""
    if len(data) % 4:
        raise InputError(f"signature_from_bytes: {len(data)} bytes is not a whole number of 4-byte values")
    return struct.unpack(f"<{len(data) // 4}I", data)
