"""The fast paths of normalize against reference copies of the straightforward algorithms they replaced.

Signatures are stored and compared across runs, and text, titles and content hashes decide identity
and theme matches, so each optimized function must return exactly what the plain version returns,
for every input: English, other scripts, CJK, markup soup, controls, texts shorter than a shingle.
The references below are copies of the code before the fast paths, kept here on purpose.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib

import ftfy
import pytest
from datasketch import MinHash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from pipeline.normalize import near_dup
from pipeline.normalize import text as text_mod
from pipeline.normalize.identity import content_hash
from pipeline.normalize.near_dup import band_keys, signature
from pipeline.normalize.text import clean_text, clean_title, html_to_text

# --- reference: MinHash signature with datasketch itself ------------------------------------------

_REF_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_REF_WORD = re.compile(rf"[{_REF_CJK}]|[^\W{_REF_CJK}]+")


def ref_shingles(text: str, size: int) -> set[str]:
    words = _REF_WORD.findall(text.casefold())
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def ref_signature(text: str, shingle_size: int = 3, num_perm: int = 128, min_shingles: int = 20) -> tuple[int, ...]:
    grams = ref_shingles(text, shingle_size)
    if len(grams) < max(min_shingles, 1):
        return ()
    sketch = MinHash(num_perm=num_perm, seed=1, hashfunc=zlib.crc32, scheme="affine32")
    sketch.update_batch([g.encode("utf-8", "surrogatepass") for g in grams])
    return tuple(sketch.hashvalues.tolist())


def ref_band_keys(sig: tuple[int, ...], bands: int = 32) -> list[str]:
    rows = len(sig) // bands
    keys = []
    for band in range(bands):
        chunk = struct.pack(f"<{rows}I", *sig[band * rows : (band + 1) * rows])
        keys.append(f"{band:02d}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys


# --- reference: text cleaning with regexes and CSS queries only -----------------------------------

_REF_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\ufeff]")
_REF_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\u2028\u2029]")
_REF_UNENCODABLE = re.compile(r"[\x00\ud800-\udfff]")
_REF_SPACES = re.compile(r"[^\S\n]+")
_REF_MAYBE_MARKUP = re.compile(r"[<&]")
_REF_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_REF_DROP = "script, style, noscript, template, iframe, object, embed, svg, canvas, head"
_REF_BLOCK = (
    "address, article, aside, blockquote, br, caption, dd, details, div, dl, dt, figcaption, figure, footer, form, "
    "h1, h2, h3, h4, h5, h6, header, hr, li, main, nav, ol, p, pre, section, summary, table, tr, ul"
)
_REF_CELL = "td, th"


def ref_clean_line(line: str) -> str:
    for _ in range(5):
        fixed = line if line.isascii() else ftfy.fix_text(line, text_mod._FTFY)  # the module's ftfy settings
        fixed = _REF_SPACES.sub(" ", _REF_LINE_BREAKS.sub(" ", _REF_CONTROL.sub("", fixed))).strip()
        if fixed == line:
            break
        line = fixed
    return line


def ref_clean_text(text: str) -> str:
    text = _REF_LINE_BREAKS.sub("\n", _REF_ANSI.sub("", text))
    if text.isascii():
        text = _REF_SPACES.sub(" ", _REF_CONTROL.sub("", text))
        return "\n".join(stripped for line in text.split("\n") if (stripped := line.strip()))
    return "\n".join(line for line in map(ref_clean_line, text.split("\n")) if line)


def ref_markup_to_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css(_REF_DROP):
        node.decompose()
    for node in tree.css(_REF_BLOCK):
        node.insert_before("\n")
        node.insert_after("\n")
    for node in tree.css(_REF_CELL):
        node.insert_after(" ")
    root = tree.body or tree.root
    return root.text(deep=True) if root is not None else ""


def _ref_one_pass(text: str) -> str:
    if _REF_MAYBE_MARKUP.search(text):
        text = ref_markup_to_text(_REF_UNENCODABLE.sub("", text))
    return ref_clean_text(text)


def ref_html_to_text(html: str | None) -> str:
    if not html:
        return ""
    text = html
    for _ in range(5):
        new = _ref_one_pass(text)
        if new == text or not _REF_MAYBE_MARKUP.search(new):
            return new
        text = new
    return text


def ref_clean_title(html: str | None, max_chars: int = 1000) -> str:
    return " ".join(ref_html_to_text(html).split("\n"))[:max_chars].rstrip()


_REF_WS = re.compile(r"\s+")


def _ref_fold(text: str) -> str:
    return _REF_WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def ref_content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{_ref_fold(title)}\n{_ref_fold(text)}".encode()).hexdigest()


# --- inputs ---------------------------------------------------------------------------------------

_ascii = st.text(alphabet=st.characters(max_codepoint=127), max_size=300)
_words = ["the", "Flood", "WARNING", "x_y", "42", "café", "Straße", "İstanbul", "北", "京", "ソウル", "한국"]
_word = st.one_of(st.sampled_from(_words), st.text(min_size=1, max_size=6))
_sep = st.sampled_from([" ", "  ", "\n", ", ", "-", "_", "\t", "\u3000", "\xa0", "'", ". ", ""])
_prose = st.lists(st.tuples(_word, _sep).map("".join), max_size=80).map("".join)
_texts = st.one_of(_prose, _ascii, st.text(max_size=300))

_tags = [
    "p", "P", "/p", "div", "/div", "br", "/br", "BR/", "li", "ul", "table", "tr", "td", "th", "/td", "caption",
    "section", "summary", "h2", "pre", "hr", "span", "a href='x'", "b", "/b", "script", "/script", "style",
    "noscript", "template", "/template", "svg", "/svg", "math", "mi", "mtext", "/math", "head", "body", "title",
    "frameset", "select", "option", "textarea", "xmp", "plaintext", "form", "dl", "dd", "dt", "iframe",
]  # fmt: skip
_pieces = [
    "&amp;", "&lt;", "&gt;", "&lt;p&gt;", "&amp;amp;", "&#8220;", "&nbsp;", "Ã³", "â€œ", "\x00", "\x1b[31m",
    "\x07", "\x7f", "\ud800", "\ufeff", "<!-- c -->", "<![CDATA[x]]>", "  ", "北京", "ｶ",
]  # fmt: skip
_markup = st.one_of(
    st.text(max_size=10),
    st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028abc&;<>/", max_size=8),
    st.sampled_from(_tags).map(lambda t: f"<{t}>"),
    st.sampled_from(_pieces),
)
_html = st.lists(_markup, max_size=25).map("".join)

_fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- properties -----------------------------------------------------------------------------------


@_fuzz
@given(_texts, st.integers(1, 4), st.sampled_from([16, 64, 128]), st.integers(1, 25))
def test_signature_equals_datasketch(text: str, size: int, num_perm: int, min_shingles: int) -> None:
    got = signature(text, shingle_size=size, num_perm=num_perm, min_shingles=min_shingles)
    assert got == ref_signature(text, size, num_perm, min_shingles)


@_fuzz
@given(_texts)
def test_band_keys_equal_reference(text: str) -> None:
    sig = signature(text, min_shingles=1)
    assert band_keys(sig) == (ref_band_keys(sig) if sig else [])
    assert band_keys(sig, bands=16) == (ref_band_keys(sig, 16) if sig else [])


@pytest.mark.parametrize("num_perm", [16, 128, 1024])
def test_permutations_are_datasketchs(num_perm: int) -> None:
    a, b = near_dup._permutations(num_perm)
    ref_a, ref_b = MinHash(num_perm=num_perm, seed=1, hashfunc=zlib.crc32, scheme="affine32").permutations
    assert a.ravel().tolist() == ref_a.tolist() and b.ravel().tolist() == ref_b.tolist()


def test_long_text_signature_spans_chunks() -> None:
    text = " ".join(f"w{i % 3000} v{i % 7}" for i in range(12_000))  # more shingles than one numpy chunk
    assert len(ref_shingles(text, 3)) > 2 * near_dup._CHUNK
    assert signature(text) == ref_signature(text)


def test_repeated_shingles_count_once_against_the_minimum() -> None:
    # 120 words but 20 distinct shingles, the repeats first: the count must not stop at a prefix.
    text = "alpha beta gamma " * 40 + " ".join(f"w{i}" for i in range(17))
    distinct = len(ref_shingles(text, 3))
    assert distinct == 20
    for m in range(distinct - 2, distinct + 3):
        assert signature(text, min_shingles=m) == ref_signature(text, min_shingles=m)
    assert signature(text, min_shingles=distinct + 1) == ()


@_fuzz
@given(st.one_of(_html, _texts))
def test_html_to_text_equals_reference(html: str) -> None:
    assert html_to_text(html) == ref_html_to_text(html)
    assert clean_title(html) == ref_clean_title(html)


@_fuzz
@given(st.one_of(_html, _texts))
def test_clean_text_equals_reference(text: str) -> None:
    assert clean_text(text) == ref_clean_text(text)


@_fuzz
@given(st.one_of(_html, _texts))
def test_line_cleaning_equals_reference(text: str) -> None:
    for line in text.split("\n"):
        assert text_mod._clean_line(line) == ref_clean_line(line)


@_fuzz
@given(_html)
def test_markup_pass_equals_css_queries(html: str) -> None:
    html = _REF_UNENCODABLE.sub("", html)
    assert text_mod._markup_to_text(html) == ref_markup_to_text(html)


@_fuzz
@given(_texts, st.one_of(_texts, _html))
def test_content_hash_equals_reference(title: str, text: str) -> None:
    try:
        expected = ref_content_hash(title, text)
    except UnicodeEncodeError:  # a lone surrogate: both refuse it
        with pytest.raises(UnicodeEncodeError):
            content_hash(title, text)
        return
    assert content_hash(title, text) == expected
