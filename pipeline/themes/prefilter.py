"""The prefilter: reject, from the raw text alone, articles that no rule of a block can match.

For every term, a *needle* is the longest literal start of one of its words, plus a regular
expression for the whole term. Both are necessary conditions for the matcher to find the term:
the fragment occurs at the start of a word in the raw text (case-folded unless the term is
exact-case) wherever the term does, and so does the expression, which allows any run of
separators between words. The check scans the text once with one regular expression (any
character but an ASCII letter, digit or underscore, then a trie of all fragments: the engine
skips quickly to such characters), and tries a fragment's expressions only where the fragment
occurs, so most articles cost one scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.themes.text import FOLDED_SEPARATOR, RAW_SEPARATOR


@dataclass(frozen=True, slots=True)
class Needle:
    """A literal fragment of one term, and a pattern for the whole term around it."""

    text: str
    exact: bool
    pattern: str


@dataclass(frozen=True, slots=True)
class Needles:
    """Alternatives, one of which must occur for a rule to match."""

    items: frozenset[Needle] = frozenset()

    def quality(self) -> tuple[int, int]:
        """Shorter fragments occur more often; prefer sets whose shortest fragment is long."""
        return (min((len(n.text) for n in self.items), default=0), -len(self.items))

    def __or__(self, other: Needles) -> Needles:
        return Needles(self.items | other.items)


def term_needles(words: list[tuple[str, bool]]) -> Needles | None:
    """The needle of a term given as (word pattern, exact) pairs; None if no word starts with a letter."""
    exact = words[0][1]
    best = max((w.split("*")[0] for w, _ in words), key=len, default="")
    if not best:
        return None
    return Needles(frozenset([Needle(best, exact, term_pattern([w for w, _ in words], exact))]))


def term_pattern(words: list[str], exact: bool) -> str:
    """A regular expression that finds the term in raw text (case-folded unless exact).

    Words are separated by any run of separators, and the term must not end inside a longer
    word (judged as the matcher's tokenizer would after normalization). It may start inside
    one: a guard there would cost the regex engine its fast search for the literal start.
    """
    sep = RAW_SEPARATOR if exact else FOLDED_SEPARATOR
    parts = [r"\w*".join(re.escape(c) for c in w.split("*")) for w in words]
    body = f"{sep}+".join(parts)
    end = "" if words[-1].endswith("*") else f"(?![^{sep[1:-1]}])"
    return body + end


class NeedleCheck:
    """A compiled set of needles: does a raw text carry any of them?"""

    __slots__ = ("_folded", "_raw")

    def __init__(self, needles: Needles) -> None:
        folded: dict[str, set[str]] = {}
        raw: dict[str, set[str]] = {}
        for n in needles.items:
            (raw if n.exact else folded).setdefault(n.text, set()).add(n.pattern)
        self._folded = _Scan(folded)
        self._raw = _Scan(raw)

    def found(self, raw: str, folded: str) -> bool:
        """True when the text may match; both strings start with a line break added by the caller."""
        return self._folded.found(folded) or self._raw.found(raw)


class _Scan:
    """One regex over all fragments; where one matches, the patterns of the fragments there are tried.

    A fragment's patterns are compiled the first time the fragment is found: a matcher holds
    hundreds, compiling them all took most of its build, and many are never needed.
    """

    __slots__ = ("_at", "_compiled", "_offset", "_patterns", "_scan")

    def __init__(self, fragments: dict[str, set[str]]) -> None:
        pattern, self._offset = _scan_pattern(sorted(fragments)) if fragments else ("", 0)
        self._scan = re.compile(pattern) if fragments else None
        self._patterns = {f: tuple(sorted(ps)) for f, ps in fragments.items()}
        # Filled as fragments are met; threads sharing the matcher may both compile one, to equal patterns.
        self._compiled: dict[str, tuple[re.Pattern[str], ...]] = {}
        # Fragments by first character, to find every fragment that starts where the scan matched.
        self._at: dict[str, tuple[str, ...]] = {}
        for f in sorted(fragments, key=len):
            self._at[f[0]] = (*self._at.get(f[0], ()), f)

    def found(self, hay: str) -> bool:
        if self._scan is None:
            return False
        tried: set[str] = set()
        for m in self._scan.finditer(hay):
            i = m.start() + self._offset  # where the fragment starts
            for fragment in self._at[hay[i]]:
                if fragment not in tried and hay.startswith(fragment, i):
                    tried.add(fragment)
                    if any(p.search(hay) is not None for p in self._patterns_of(fragment)):
                        return True
        return False

    def _patterns_of(self, fragment: str) -> tuple[re.Pattern[str], ...]:
        patterns = self._compiled.get(fragment)
        if patterns is None:
            patterns = self._compiled[fragment] = tuple(map(re.compile, self._patterns[fragment]))
        return patterns


def _scan_pattern(fragments: list[str]) -> tuple[str, int]:
    """A regex finding where a fragment starts a word, and the fragment's offset in each match.

    A word starts after a separator, and every separator is outside [0-9A-Za-z_] (a superset is
    safe). The regex begins with what the engine can skip through quickly: in case-folded text
    a separator (most characters are lower-case letters); for exact-case fragments that all
    start with a capital ("ISIS", "AQAP"), that capital, checked afterwards for a separator
    before it.
    """
    firsts = sorted({f[0] for f in fragments})
    if all("A" <= c <= "Z" for c in firsts):
        branches = [f"{c}(?<![0-9A-Za-z_]{c})" + _trie([f[1:] for f in fragments if f[0] == c]) for c in firsts]
        return "(?:" + "|".join(branches) + ")", 0
    return "[^0-9A-Za-z_](?:" + _trie(fragments) + ")", 1


class _Node(dict[str, "_Node"]):
    """A trie node: child nodes by character; the key "" marks the end of a fragment."""


def _trie(words: list[str]) -> str:
    """A regular expression matching any of ``words`` where one starts, sharing common prefixes."""
    root = _Node()
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, _Node())
        node[""] = _Node()

    def build(node: _Node) -> str:
        if "" in node:
            return ""  # a shorter fragment ends here: finding it is enough to stop the scan
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return build(root)
