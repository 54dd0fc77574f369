"""Theme versions are stored with every tag: their values must never drift.

The seed versions are pinned, and for arbitrary definitions the version equals a plain
reference: the normalized definition built as nested lists, each list sorted by its items'
JSON, the whole dumped once and hashed (how versions were first computed; the code serialises
each sub-tree once instead, which must give the same bytes).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.themes import load_theme_file, parse_themes
from pipeline.themes.model import AllOf, AnyOf, LanguageBlock, Node, Not, ThemeDef
from pipeline.themes.text import Term
from tests.themes.test_themes_version import BASE

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "themes.yaml"

SEED_VERSIONS = {
    "returning_fighters": "f8023b432150d6c5",
    "propaganda_collapse": "703ba926138ac096",
    "territorial_focus": "c6e0fcba5f4749d6",
}


def test_seed_versions_are_pinned() -> None:
    assert {t.id: t.version for t in load_theme_file(SEEDS).themes} == SEED_VERSIONS


def test_small_definitions_are_pinned() -> None:
    assert {t.id: t.version for t in parse_themes(BASE, "test").themes} == {
        "t": "3ed4281d23efc23d", "other": "8af9fb4ac0547066"}


# --- the reference ------------------------------------------------------------------------------------

def _sorted_unique(items: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(json.dumps(item, sort_keys=True, ensure_ascii=False), item)
    return [seen[k] for k in sorted(seen)]


def _canonical(node: Node) -> Any:
    if isinstance(node, Term):
        return ["exact" if node.exact else "term", list(node.words), node.not_in_caps]
    if isinstance(node, AnyOf):
        return ["any", _sorted_unique([_canonical(i) for i in node.items]),
                _sorted_unique([_canonical(t) for t in node.exclude])]
    if isinstance(node, AllOf):
        return ["all", _sorted_unique([_canonical(i) for i in node.items])]
    if isinstance(node, Not):
        return ["not", _canonical(node.item)]
    pair = [_canonical(node.left), _canonical(node.right)]
    if not node.ordered and pair[0] != pair[1]:
        pair = _sorted_unique(pair)
    return ["near", pair, node.within, node.ordered, _sorted_unique([_canonical(t) for t in node.exclude]),
            node.across_sentences]


def _block(b: LanguageBlock) -> dict[str, Any]:
    return {"lang": b.lang, "scope": _canonical(b.scope) if b.scope is not None else None,
            "threshold": b.threshold, "rules": _sorted_unique([[r.weight, _canonical(r.node)] for r in b.rules])}


def reference_version(theme: ThemeDef) -> str:
    form = {"id": theme.id, "blocks": [_block(b) for b in sorted(theme.blocks, key=lambda b: b.lang)]}
    data = json.dumps(form, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def test_seed_versions_equal_the_reference() -> None:
    for theme in load_theme_file(SEEDS).themes:
        assert theme.version == reference_version(theme), theme.id


# --- arbitrary definitions ------------------------------------------------------------------------------

# Words whose JSON sorts in unexpected ways: accents, non-Latin letters, quotes' neighbours, digits, wildcards.
WORDS = ["a", "b", "fighter*", "return", "é", "Straße", "ИГИЛ", "داعش", "al", "Qaeda", "z9", "_x", "ab*c", "日本"]
term = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
exact = st.builds(lambda w, caps: {"exact": w, "not_in_caps": caps}, term, st.booleans())


def _near(pair: tuple[Any, Any], within: int, ordered: bool, across: bool, exclude: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"near": list(pair), "within": within, "ordered": ordered, "across_sentences": across}
    if exclude:
        out["except"] = exclude
    return out


def _positional(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Rules with word positions: terms, exact, any of those (with except), near."""
    return st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4),
        st.builds(lambda items, ex: {"any": items, "except": ex}, st.lists(inner, min_size=1, max_size=3),
                  st.lists(term, min_size=1, max_size=2)),
        st.builds(_near, st.tuples(inner, inner), st.integers(1, 12), st.booleans(), st.booleans(),
                  st.lists(term, max_size=2)),
    ), max_leaves=12)


shared = _positional(st.one_of(term, exact))  # the one definition, used by reference below
positional = _positional(st.one_of(term, exact, st.just({"ref": "shared"})))
node = st.recursive(positional, lambda inner: st.one_of(
    st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda item: {"not": item}, inner),
), max_leaves=6)
weight = st.sampled_from([1.0, 0.5, 2, -1, 0.0, -0.0, 1e-7, 3.25])
rule = st.one_of(node, st.builds(lambda n, w: {"all": [n], "weight": w}, node, weight))


@st.composite
def theme_files(draw: st.DrawFn) -> dict[str, Any]:
    themes = []
    for i in range(draw(st.integers(1, 3))):
        theme: dict[str, Any] = {"id": f"t{i}", "rules": draw(st.lists(rule, min_size=1, max_size=4)),
                                 "threshold": draw(st.sampled_from([1, 1.0, 0.5, 2.5]))}
        if draw(st.booleans()):
            theme["scope"] = draw(st.one_of(st.just("shared"), st.lists(positional, min_size=1, max_size=2)))
        if draw(st.booleans()):
            theme["languages"] = {"fr": {"rules": draw(st.lists(rule, min_size=1, max_size=2))}}
        themes.append(theme)
    return {"define": {"shared": draw(shared)}, "themes": themes}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(theme_files())
def test_versions_equal_the_reference(data: dict[str, Any]) -> None:
    for theme in parse_themes(data, "generated").themes:
        assert theme.version == reference_version(theme)
