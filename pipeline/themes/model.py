"""The parsed form of theme definitions: rule nodes, themes and their version hashes.

A rule node is one of:

- :class:`Term` (from ``text``): a word or phrase, positional (it has word positions);
- :class:`AnyOf`: any of its items; positional when all items are;
- :class:`AllOf`: every item somewhere in the text (not positional);
- :class:`Not`: its item nowhere in the text (not positional);
- :class:`Near`: two positional operands within N words of each other (positional).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TypeAlias

from pipeline.themes.text import Term


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Matches where any item matches; occurrences overlapping an ``exclude`` term are dropped."""

    items: tuple[Node, ...]
    exclude: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class AllOf:
    """Matches when every item matches somewhere in the text."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Matches when the item does not match anywhere in the text."""

    item: Node


@dataclass(frozen=True, slots=True)
class Near:
    """``left`` and ``right`` at most ``within`` words apart (adjacent words are 1 apart), in one sentence."""

    left: Node
    right: Node
    within: int
    ordered: bool = False  # left must come before right
    exclude: tuple[Term, ...] = ()
    across_sentences: bool = False  # allow the two to lie in different sentences


Node: TypeAlias = Term | AnyOf | AllOf | Not | Near


def is_positional(node: Node) -> bool:
    """True when the node's matches have word positions (so it can be used inside ``near``)."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, AnyOf):
        return all(is_positional(i) for i in node.items)
    return False


def canonical(node: Node) -> object:
    """A JSON-able form of a node, independent of item order where order has no meaning."""
    if isinstance(node, Term):
        return node.canonical()
    if isinstance(node, AnyOf):
        return ["any", _sorted_unique(canonical(i) for i in node.items),
                _sorted_unique(t.canonical() for t in node.exclude)]
    if isinstance(node, AllOf):
        return ["all", _sorted_unique(canonical(i) for i in node.items)]
    if isinstance(node, Not):
        return ["not", canonical(node.item)]
    pair = [canonical(node.left), canonical(node.right)]
    if not node.ordered:
        pair = _sorted_unique(pair) if pair[0] != pair[1] else pair
    return ["near", pair, node.within, node.ordered, _sorted_unique(t.canonical() for t in node.exclude),
            node.across_sentences]


def _sorted_unique(items: object) -> list[object]:
    seen: dict[str, object] = {}
    for item in items:  # type: ignore[attr-defined]
        seen.setdefault(json.dumps(item, sort_keys=True, ensure_ascii=False), item)
    return [seen[k] for k in sorted(seen)]


@dataclass(frozen=True, slots=True)
class Rule:
    """A top-level rule of a theme: a node with a weight, numbered as written (1-based)."""

    index: int
    node: Node
    weight: float = 1.0
    name: str | None = None
    kind: str = "term"  # how it was written: term, any, all, not, near, exact, ref

    @property
    def label(self) -> str:
        """How evidence names this rule: its name, the term itself, or 'rule N (kind)'."""
        if self.name:
            return self.name
        if isinstance(self.node, Term):
            return self.node.source
        return f"rule {self.index} ({self.kind})"


@dataclass(frozen=True, slots=True)
class LanguageBlock:
    """The rules of a theme for one language, with its scope gate and threshold."""

    lang: str
    rules: tuple[Rule, ...]
    scope: Node | None = None
    threshold: float = 1.0

    def canonical(self) -> object:
        return {
            "lang": self.lang,
            "scope": canonical(self.scope) if self.scope is not None else None,
            "threshold": self.threshold,
            "rules": _sorted_unique([r.weight, canonical(r.node)] for r in self.rules),
        }


@dataclass(frozen=True, slots=True)
class ThemeDef:
    """One parsed theme; ``version`` hashes what decides matching (see :func:`theme_version`)."""

    id: str
    label: str
    description: str
    blocks: tuple[LanguageBlock, ...]
    version: str

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(b.lang for b in self.blocks)


@dataclass(frozen=True, slots=True)
class ThemeSet:
    """Parsed theme definitions, in the order written, with where they came from."""

    themes: tuple[ThemeDef, ...]
    origin: str = ""


@dataclass(frozen=True, slots=True)
class ThemeInfo:
    """What a compiled matcher knows about each theme (for listings and storage)."""

    id: str
    label: str
    version: str
    description: str = ""
    languages: tuple[str, ...] = ("en",)


def theme_version(theme_id: str, blocks: tuple[LanguageBlock, ...]) -> str:
    """A stable hash of a theme's normalized definition.

    It covers the id, every language block's scope, threshold, rule weights and rule
    contents (named definitions resolved), so changing any of them changes the version.
    It ignores what cannot change a match: label, description, rule names, comments,
    YAML layout, and the order of items in ``any``/``all`` lists and of rules.
    """
    form = {"id": theme_id, "blocks": [b.canonical() for b in sorted(blocks, key=lambda b: b.lang)]}
    data = json.dumps(form, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]
