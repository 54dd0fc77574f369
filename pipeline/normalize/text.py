"""HTML (or text) to clean plain text.

Feeds carry HTML fragments, escaped HTML, entities, double-encoded UTF-8
("GuaidÃ³") and the odd control character.  The output is plain text that
theme rules can match: paragraphs and list items on their own lines, runs of
spaces collapsed, entities decoded, mojibake repaired by ftfy, control
characters gone.  Correct text in any script must come out unchanged apart
from whitespace, so ftfy runs with the fixes that alter correct text
(full-width characters, curly quotes) turned off.
"""

from __future__ import annotations

import re

import ftfy
from selectolax.lexbor import LexborHTMLParser

__all__ = ["clean_text", "clean_title", "html_to_text", "strip_control"]

# Elements whose content is never reader-visible text.
_DROP = "script, style, noscript, template, iframe, object, embed, svg, canvas, head"
# Elements that start and end a line of text.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
        "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tr", "ul",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # the HTML parser already decoded entities; ftfy must not guess again
    fix_character_width=False,  # full-width digits and letters are correct in CJK text
    uncurl_quotes=False,  # curly quotes are correct text
    fix_line_breaks=False,  # lines are split before ftfy sees them
    explain=False,
    normalization="NFC",
)

# C0/C1 control characters, lone surrogates and non-characters; \n and \t are handled as whitespace.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\ufeff]")
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\u2028\u2029]")
# What the HTML parser (which encodes to UTF-8) cannot take: NUL and lone surrogates.
_UNENCODABLE = re.compile(r"[\x00\ud800-\udfff]")
# Any run of horizontal whitespace (str.split's notion minus the line breaks).
_SPACES = re.compile(r"[^\S\n]+")
# Terminal colour codes (ESC [ ... letter) that ftfy would remove from a non-ASCII line.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_MAX_PASSES = 5
# ASCII characters that make a text need more than line splitting and space collapsing:
# the controls other than \t and \n (line breaks, ANSI escapes, the rest), and DEL.
_ASCII_CONTROLS = bytes(c for c in range(32) if c not in (9, 10)) + b"\x7f"


def strip_control(text: str) -> str:
    """Remove control characters, lone surrogates and non-characters (keeps \\n and \\t)."""
    return _CONTROL.sub("", text)


def _maybe_markup(text: str) -> bool:
    """True when *text* holds a '<' or '&' (two memchr-speed scans, cheaper than a regex search)."""
    return "<" in text or "&" in text


def _is_plain_ascii(text: str) -> bool:
    """ASCII without control characters other than \\t and \\n (``isascii`` is O(1), the rest one C pass)."""
    return text.isascii() and len(text.encode("ascii").translate(None, _ASCII_CONTROLS)) == len(text)


def _clean_line(line: str) -> str:
    """Repair one line until it no longer changes, so that cleaning is idempotent."""
    if _is_plain_ascii(line):
        # What the loop below comes to for such a line (blank lines included), without its regexes.
        return " ".join(line.split())
    for _ in range(_MAX_PASSES):
        # ftfy works line by line anyway; an ASCII line holds no mojibake, and skipping
        # it saves most of ftfy's per-line overhead on English text.
        fixed = line if line.isascii() else ftfy.fix_text(line, _FTFY)
        fixed = _SPACES.sub(" ", _LINE_BREAKS.sub(" ", strip_control(fixed))).strip()
        if fixed == line:
            break
        line = fixed
    return line


def clean_text(text: str) -> str:
    """Repair plain text: mojibake fixed, controls removed, spaces collapsed, one line per paragraph.

    Idempotent: ``clean_text(clean_text(x)) == clean_text(x)``.
    """
    if _is_plain_ascii(text):
        # Most English news: no escape, line-break or control character to replace, so what is left
        # is collapsing runs of spaces and tabs and dropping blank lines, done here with str methods
        # (equal to the regex path below, several times faster).
        lines = text.split("\n")
        if "\t" in text or "  " in text:
            return "\n".join(collapsed for line in lines if (collapsed := " ".join(line.split())))
        return "\n".join(stripped for line in lines if (stripped := line.strip()))
    text = _LINE_BREAKS.sub("\n", _ANSI.sub("", text))
    if text.isascii():
        # Fast path (most English news): no mojibake is possible, so the whole text is cleaned in one go;
        # the result equals the line-by-line path, at a fraction of its regex calls.
        text = _SPACES.sub(" ", strip_control(text))
        return "\n".join(stripped for line in text.split("\n") if (stripped := line.strip()))
    return "\n".join(line for line in map(_clean_line, text.split("\n")) if line)


def _markup_to_text(html: str) -> str:
    """One pass of HTML to text with selectolax (entities decoded, blocks on their own lines)."""
    tree = LexborHTMLParser(html)
    for node in tree.css(_DROP):
        node.decompose()
    # One walk sorting elements by tag name finds what css("address, article, …") and css("td, th")
    # would, in the same (document) order, several times cheaper: matching a 37-name selector list
    # against every element was most of lexbor's work on a short fragment.
    blocks = []
    cells = []
    if tree.root is not None:
        for node in tree.root.traverse():
            tag = node.tag
            if tag in _BLOCK:
                blocks.append(node)
            elif tag in _CELL:
                cells.append(node)
    for node in blocks:
        node.insert_before("\n")
        node.insert_after("\n")
    for node in cells:
        node.insert_after(" ")
    root = tree.body or tree.root
    return root.text(deep=True) if root is not None else ""


def _one_pass(text: str) -> str:
    if _maybe_markup(text):
        if not text.isascii() or "\x00" in text:  # in ASCII, NUL is all that _UNENCODABLE removes
            text = _UNENCODABLE.sub("", text)
        text = _markup_to_text(text)
    return clean_text(text)


def html_to_text(html: str | None) -> str:
    """Convert an HTML fragment (or plain text) to clean plain text; never raises on any str.

    Feeds sometimes escape HTML twice (``&lt;p&gt;`` inside CDATA, ``&amp;amp;``), so
    the conversion repeats while it still changes something (a few passes at most);
    the result is thereby stable: ``html_to_text(html_to_text(x)) == html_to_text(x)``.
    The price: text that literally shows a tag (``&lt;div&gt;`` in an article about
    HTML) loses it, since "<div>" after one pass reads as markup in the next.
    """
    if not html:
        return ""
    text = html
    for _ in range(_MAX_PASSES):
        new = _one_pass(text)
        # Without markup left, another pass would only repeat clean_text, which is idempotent.
        if new == text or not _maybe_markup(new):
            return new
        text = new
    return text


def clean_title(html: str | None, *, max_chars: int = 1000) -> str:
    """Like :func:`html_to_text`, on one line, cut to *max_chars*."""
    title = " ".join(html_to_text(html).split("\n"))
    return title[:max_chars].rstrip()
