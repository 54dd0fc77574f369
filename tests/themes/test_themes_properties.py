"""Invariants of the matcher on arbitrary text (hypothesis)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.themes import Matcher, MatcherSettings, compile_themes, load_theme_file, parse_themes
from pipeline.themes.text import combine

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "themes.yaml"


@cache
def seeds() -> Matcher:
    return compile_themes(load_theme_file(SEEDS))


# Words the seed rules look for, near-misses, and characters that stress normalization,
# case-folding and word boundaries (U+0345 case-folds to a letter; U+0130 to two characters).
VOCABULARY = [
    "IS", "ISIS", "Isis", "crisis", "ISIL", "Islamic", "State", "Daesh", "Da", "esh", "al", "Qaeda", "qa", "ida",
    "Shabaab", "Boko", "Haram", "Tahrir", "Sham", "jihadists", "militants", "terrorist", "caliphate", "foreign",
    "fighters", "fighter", "jets", "returned", "returning", "home", "back", "come", "came", "to", "their",
    "countries", "repatriated", "women", "children", "camps", "Syria", "Iraq", "Mosul", "Raqqa", "propaganda",
    "machine", "collapsed", "Amaq", "offline", "accounts", "removed", "media", "output", "fell", "seized", "held",
    "control", "territory", "territorial", "city", "town", "lost", "no", "longer", "focuses", "on", "the", "of",
    "WHAT", "THIS", "U", "S", "Gen", "İS", "ßtate", "ΣΟΣ", "x" * 30,
]
SEPARATORS = [" ", "  ", "-", "\u2011", "'", "\u2019", "\u02bc", "\u0345", ". ", "! ", "\n", "\u00a0", ", ", "", "_",
              "\u0307", "İ", "\u00ad", "\t"]

texts = st.lists(st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(SEPARATORS)), max_size=60).map(
    lambda parts: "".join(w + s for w, s in parts))
anything = st.text(max_size=300)


def check_hits(m: Matcher, text: str, title: str) -> None:
    combined = combine(text, title)
    versions = {t.id: t.version for t in m.themes}
    for hit in m.match(text, title):
        assert hit.version == versions[hit.theme]
        assert hit.score > 0
        assert hit.evidence, "a theme carried by positive rules shows where"
        for e in hit.evidence:
            assert 0 <= e.start < e.end <= len(combined)
            span = combined[e.start:e.end]
            assert span[0].isalnum() or span[0] == "_"
            assert " ".join(span.split()) in e.snippet


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=anything, title=anything)
def test_matching_never_raises_and_evidence_lies_in_the_text(text: str, title: str) -> None:
    check_hits(seeds(), text, title)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, title=texts)
def test_prefilter_never_changes_a_result(text: str, title: str) -> None:
    m = seeds()
    assert m.match(text, title) == m.without_prefilter().match(text, title)
    check_hits(m, text, title)


@cache
def uncached() -> tuple[Matcher, Matcher]:
    """Seed matchers that remember no words, and only five (so the memory is cleared often)."""
    theme_set = load_theme_file(SEEDS)
    return (compile_themes(theme_set, MatcherSettings(word_cache_size=0)),
            compile_themes(theme_set, MatcherSettings(word_cache_size=5)))


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_results_do_not_depend_on_what_was_matched_before(text: str) -> None:
    none, tiny = uncached()
    assert none.match(text) == tiny.match(text) == seeds().match(text)


small = parse_themes([
    {"id": "a", "rules": [{"near": [["x*", {"exact": "Y"}], "z z"], "within": 2, "ordered": True}]},
    {"id": "b", "rules": [{"all": ["x", {"not": "y"}]}]},
    {"id": "c", "scope": ["q"], "rules": [{"any": ["x*z"], "except": ["xx z"]}]},
], "small")


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(["x", "xx", "xyz", "Y", "y", "z", "q", "Q", " ", ". ", "-", "\n", "ʼ"]),
                     max_size=30).map("".join))
def test_prefilter_exact_on_a_small_language(text: str) -> None:
    m = compile_themes(small)
    assert m.match(text) == m.without_prefilter().match(text)


def test_huge_texts_are_bounded_in_time() -> None:
    m = seeds()
    dense = "ISIS fighters are returning home from Syria; the caliphate lost territory. " * 40_000  # 3 MB
    start = time.perf_counter()
    hits = m.match(dense, "Title")
    assert {h.theme for h in hits} == {"returning_fighters", "territorial_focus"}
    assert all(len(h.evidence) <= 3 * 20 for h in hits)
    sparse = "word " * 1_000_000
    assert m.match(sparse) == []
    assert time.perf_counter() - start < 60


def test_one_matcher_shared_by_threads_gives_the_same_results() -> None:
    texts = [
        "ISIS fighters are returning home from Syria.",
        "The caliphate lost territory; Iraqi forces retook Mosul from ISIS.",
        "Amaq went silent as the Islamic State's propaganda machine collapsed.",
        "Nothing to see here, only markets and weather.",
    ] * 50
    sequential = [uncached()[0].match(t) for t in texts]
    shared = compile_themes(load_theme_file(SEEDS), MatcherSettings(word_cache_size=20))  # often replaced
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(shared.match, texts)) == sequential
