"""Text handling shared by the theme parser and matcher: normalization, words, terms.

Normalization is one-for-one (every character maps to exactly one character), so
offsets found in the normalized text are offsets into the original text too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Typographic apostrophes, quotes, dashes and spaces map to their ASCII forms, so that
# "Da’esh" and "al‑Qaeda" (non-breaking hyphen) read like "Da'esh" and "al-Qaeda".
# U+02BC (modifier letter apostrophe) matters most: it is a letter to `\w`, so without
# this mapping "Daʼesh" would be one word and not the two words of the term "Da'esh".
_APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u02b9\u0060\u00b4\uff07"
_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\uff02"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SPACES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_MAP = {
    **dict.fromkeys(_APOSTROPHES, "'"),
    **dict.fromkeys(_QUOTES, '"'),
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys(_SPACES, " "),
}
_ASCII_MAPPED = [c for c in _MAP if c.isascii()]  # the back-tick
_TO_NORMALIZE = re.compile("[" + re.escape("".join(_MAP)) + "]")

#: A word is a run of word characters (letters, digits, underscore); everything else separates words.
WORD = re.compile(r"\w+")
_WORD_OR_STAR = re.compile(r"[\w*]+")


# A sentence ends at . ! or ? followed by a space (after any closing quote or bracket), except
# after a single letter ("U.S.", "J. Smith") or a common abbreviation; and at every line break.
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "st", "gen", "col", "lt", "sgt", "capt", "maj", "cpl", "adm", "gov", "sen", "rep",
    "prof", "rev", "jr", "sr", "no", "vs", "etc", "inc", "ltd", "co", "corp", "dept", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "est", "fig", "al",
})


# A sentence mark counts only before whitespace (closing quotes and brackets may come between).
SENTENCE_CLOSING = r"(?=[\"')\]]*\s)"


def abbreviation_guards() -> str:
    """Look-behinds refusing a period that ends one of the abbreviations: one per abbreviation length,
    since a look-behind needs a fixed width. They only run at a period."""
    by_length: dict[int, list[str]] = {}
    for a in _ABBREVIATIONS:
        by_length.setdefault(len(a), []).append(a)
    return "".join(rf"(?<!\b(?i:{'|'.join(sorted(ws))})\.)" for _, ws in sorted(by_length.items()))


def _sentence_ends() -> re.Pattern[str]:
    guards, closing = abbreviation_guards(), SENTENCE_CLOSING
    # One character class first, then the conditions as look-behinds: the engine then skips in C to
    # the few candidate characters instead of trying every alternative at every position.
    return re.compile(rf"[.!?\n](?:(?<=\.)(?<!\b\w\.){guards}{closing}|(?<=[!?]){closing}|(?<=\n))")


# The marks that end a sentence (a period after an abbreviation is not one). None is a word character,
# so words never straddle them and the words between two marks are those of one sentence.
_SENTENCE_ENDS = _sentence_ends()


def words_and_sentences(text: str) -> tuple[list[str], list[int]]:
    """The words of a text (as ``WORD.findall``) and, for each, the number of its sentence."""
    words: list[str] = []
    sentences: list[int] = []
    findall = WORD.findall
    # split (no match objects) gives the text between the marks: sentence by sentence.
    for number, part in enumerate(_SENTENCE_ENDS.split(text)):
        found = findall(part)
        if found:
            words += found
            sentences += [number] * len(found)
    return words, sentences


def normalize(text: str) -> str:
    """Map typographic punctuation to ASCII, keeping the length (offsets stay valid)."""
    if text.isascii() and not any(c in text for c in _ASCII_MAPPED):  # most texts: nothing to map
        return text
    return _TO_NORMALIZE.sub(lambda m: _MAP[m.group()], text)


# Characters that separate words once normalized although `\w` counts them as letters (the
# modifier-letter apostrophes), and the letter that U+0345 (not a word character) case-folds
# to: the prefilter searches the raw, case-folded text and must never miss what the matcher finds.
_LETTER_SEPARATORS = "".join(c for c in _MAP if re.match(r"\w", c))
RAW_SEPARATOR = rf"[\W{_LETTER_SEPARATORS}]"
# The letter separators as one range (U+02B9-U+02BC, so U+02BA and U+02BB too): more separators only let
# more texts through the prefilter, and re compiles a class holding three separate characters above U+00FF
# ten times slower (it builds a 64K-entry map), once per term pattern of the prefilter in every process.
FOLDED_SEPARATOR = rf"[\W{min(_LETTER_SEPARATORS)}-{max(_LETTER_SEPARATORS)}{chr(0x345).casefold()}]"


def fold(word: str) -> str:
    """The case-insensitive form of a word (casefold: 'Straße' and 'STRASSE' agree)."""
    return word.casefold()


def combine(text: str, title: str = "") -> str:
    """The text that is matched and that evidence offsets refer to: title + blank line + text."""
    return f"{title}\n\n{text}" if title else text


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase of consecutive words; `*` in a word stands for any word characters.

    ``words`` are case-folded unless ``exact``; ``not_in_caps`` (exact terms only) skips a
    match whose neighbouring words are all in capitals ("WHAT IS IT" is not the group IS).
    """

    words: tuple[str, ...]
    exact: bool = False
    not_in_caps: bool = False
    source: str = ""


def parse_term(source: str, *, exact: bool = False, not_in_caps: bool = False) -> Term:
    """Read a term as written by an analyst; raises ValueError with a readable reason.

    Anything that is not a word character or `*` separates words, so "al-Qaeda",
    "al Qaeda" and "al‑Qaeda" are the same two-word phrase.
    """
    norm = normalize(source).strip()
    if not norm:
        raise ValueError("a term must not be empty")
    words = _WORD_OR_STAR.findall(norm)
    if not words:
        raise ValueError(f"term {source!r} has no letters or digits")
    for w in words:
        if not w.replace("*", ""):
            raise ValueError(f"term {source!r}: a wildcard '*' must be attached to letters (e.g. 'return*')")
    if not exact:
        words = [fold(w) for w in words]
    return Term(words=tuple(words), exact=exact, not_in_caps=not_in_caps and exact, source=source)


def is_caps_word(word: str) -> bool:
    """True for a word in capitals of two or more letters ('THIS', 'UN'), used by not_in_caps."""
    return len(word) >= 2 and word.isupper()
