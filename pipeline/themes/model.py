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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

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


class _Json(NamedTuple):
    """A value as ``json.dumps(value, sort_keys=True, ensure_ascii=False)`` writes it (``key``: lists are
    sorted and de-duplicated by it) and the same with compact separators (``text``: what is hashed)."""

    key: str
    text: str


# How json.dumps(..., ensure_ascii=False) writes a string.
_encode_str = json.encoder.encode_basestring


def _scalar(value: str | bool | int | float) -> _Json:
    text = _encode_str(value) if isinstance(value, str) else json.dumps(value)
    return _Json(text, text)  # no separators inside a scalar: both forms agree


def _array(items: Iterable[_Json]) -> _Json:
    parts = list(items)
    return _Json("[" + ", ".join([p.key for p in parts]) + "]", "[" + ",".join([p.text for p in parts]) + "]")


def _words(words: tuple[str, ...]) -> _Json:
    texts = list(map(_encode_str, words))
    return _Json("[" + ", ".join(texts) + "]", "[" + ",".join(texts) + "]")


_ANY, _ALL, _NOT, _NEAR = map(_scalar, ("any", "all", "not", "near"))
_TERM, _EXACT, _TRUE, _FALSE = _scalar("term"), _scalar("exact"), _scalar(True), _scalar(False)


def _sorted_unique(items: Iterable[_Json]) -> _Json:
    """The array of the distinct items, in the order of their ``key``."""
    seen: dict[str, _Json] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return _array(seen[k] for k in sorted(seen))


class _Canonical:
    """The JSON form of rule nodes, independent of item order where order has no meaning.

    Each node is serialised once, children first, and its parents are assembled from those
    strings (linear in the size of the definition); a node object met again (a shared
    definition) is looked up by identity. The strings are exactly what ``json.dumps`` writes
    for the nested lists described here, which is what the versions always hashed.
    """

    __slots__ = ("_done",)

    def __init__(self) -> None:
        # By id(): the nodes stay alive (the blocks being hashed hold them) while this object is used.
        self._done: dict[int, _Json] = {}

    def node(self, node: Node) -> _Json:
        done = self._done.get(id(node))
        if done is None:
            done = self._done[id(node)] = self._build(node)
        return done

    def _build(self, node: Node) -> _Json:
        if isinstance(node, Term):
            return _array([_EXACT if node.exact else _TERM, _words(node.words), _TRUE if node.not_in_caps else _FALSE])
        if isinstance(node, AnyOf):
            return _array([_ANY, _sorted_unique(map(self.node, node.items)),
                           _sorted_unique(map(self.node, node.exclude))])
        if isinstance(node, AllOf):
            return _array([_ALL, _sorted_unique(map(self.node, node.items))])
        if isinstance(node, Not):
            return _array([_NOT, self.node(node.item)])
        pair = [self.node(node.left), self.node(node.right)]
        if not node.ordered:
            pair.sort(key=lambda j: j.key)  # sorted, never de-duplicated: near [x, x] keeps both
        return _array([_NEAR, _array(pair), _scalar(node.within), _scalar(node.ordered),
                       _sorted_unique(map(self.node, node.exclude)), _scalar(node.across_sentences)])

    def block(self, block: LanguageBlock) -> str:
        """The compact JSON of a block's ``{lang, rules, scope, threshold}`` (keys sorted)."""
        rules = _sorted_unique(_array([_scalar(r.weight), self.node(r.node)]) for r in block.rules)
        scope = self.node(block.scope).text if block.scope is not None else "null"
        return (f'{{"lang":{_scalar(block.lang).text},"rules":{rules.text},"scope":{scope},'
                f'"threshold":{_scalar(block.threshold).text}}}')


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
    canon = _Canonical()
    parts = [canon.block(b) for b in sorted(blocks, key=lambda b: b.lang)]
    # json.dumps({"id": ..., "blocks": [...]}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    data = f'{{"blocks":[{",".join(parts)}],"id":{_scalar(theme_id).text}}}'
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]
