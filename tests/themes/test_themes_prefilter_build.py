"""The prefilter's build shortcuts: a separator class that compiles fast, term patterns compiled on demand."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from pipeline.themes import Matcher, compile_themes, load_theme_file
from pipeline.themes.text import _LETTER_SEPARATORS, FOLDED_SEPARATOR

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "themes.yaml"


@cache
def seeds() -> Matcher:
    return compile_themes(load_theme_file(SEEDS))


def test_folded_separator_is_a_superset_of_what_the_matcher_separates() -> None:
    """Every character that separates words for the matcher (after case-folding) separates them here too."""
    exact = re.compile(rf"[\W{_LETTER_SEPARATORS}{chr(0x345).casefold()}]")
    fast = re.compile(FOLDED_SEPARATOR)
    missed = [c for c in map(chr, range(0x110000)) if exact.fullmatch(c) and not fast.fullmatch(c)]
    assert missed == []


@pytest.mark.parametrize("sep", ["\u02b9", "\u02ba", "\u02bb", "\u02bc", "\u0345", "\u03b9", " ", "-"])
def test_odd_separators_change_no_match(sep: str) -> None:
    m = seeds()
    for phrase in ("foreign fighters returned home", "Islamic State fighters came back", "al Qaeda propaganda"):
        title, text = phrase.replace(" ", sep), phrase.replace(" ", sep) + " from Syria to their home countries."
        assert m.match(text, title) == m.without_prefilter().match(text, title)


def test_term_patterns_are_compiled_when_first_needed() -> None:
    m = compile_themes(load_theme_file(SEEDS))
    checks = {id(c): c for b in m._blocks for c in (b.scope_needles, b.rule_needles) if c is not None}
    scans = [s for c in checks.values() for s in (c._folded, c._raw)]
    assert all(not s._compiled for s in scans)
    assert m.match("ISIS fighters returned home from Syria.")
    assert any(s._compiled for s in scans)
