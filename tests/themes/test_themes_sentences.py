"""words_and_sentences (split at the sentence marks, then words) against a one-regex reference."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.themes.text import SENTENCE_CLOSING, WORD, abbreviation_guards, words_and_sentences


def _reference_pattern() -> re.Pattern[str]:
    """Words (group 1) and sentence ends in one alternation, read left to right by findall (the same
    abbreviation guards and closing context as the module's split pattern, arranged the obvious way)."""
    guards, closing = abbreviation_guards(), SENTENCE_CLOSING
    return re.compile(rf"(\w+)|\.(?<!\b\w\.){guards}{closing}|[!?]{closing}|\n")


REFERENCE = _reference_pattern()


def reference(text: str) -> tuple[list[str], list[int]]:
    words: list[str] = []
    sentences: list[int] = []
    number = 0
    for token in REFERENCE.findall(text):
        if token:
            words.append(token)
            sentences.append(number)
        else:
            number += 1
    return words, sentences


PIECES = ["word", "Mr", "mr", "U", "S", "e", "g", "al", "Sept", "No", "x1", "_", "é", "ß", "İ", "\u02bc", "\u2028",
          ".", ". ", "! ", "? ", "?", "!", "\n", "\r\n", "\t", " ", "  ", '." ', ".) ", ".] ", ".'\n", "...", "\x85",
          "\u00a0", "-", ",", '"']
texts = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_words_and_sentences_match_the_reference(text: str) -> None:
    assert words_and_sentences(text) == reference(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_words_and_sentences_on_any_text(text: str) -> None:
    words, sentences = words_and_sentences(text)
    assert words == WORD.findall(text)
    assert (words, sentences) == reference(text)
