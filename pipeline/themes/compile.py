"""Compile parsed theme definitions into plans the matcher runs.

What makes matching fast:

- every word pattern of every term gets an integer id, and a :class:`WordTable` maps a word
  of text to the ids it matches (dictionary look-ups for literals and prefix wildcards);
  the matcher remembers that answer per distinct word, so each word is classified once;
- a term is found by its longest word, recorded by position; the other words of a phrase
  (often "of", "the") are only checked next to it;
- equal rule nodes (a shared definition used in several places) compile to one plan, which
  is evaluated once per text; ``any`` lists are flattened, their single words become one set
  of ids, and their phrases are only tried when their key word occurs;
- ``near`` evaluates its cheaper operand first and skips the other when that finds nothing;
- each language block gets needles for its scope and its rules (see :mod:`.prefilter`), so
  most articles are rejected before any word is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.themes.model import AllOf, AnyOf, LanguageBlock, Node, Not, ThemeDef
from pipeline.themes.prefilter import NeedleCheck, Needles, term_needles
from pipeline.themes.text import Term, fold


class WordTable:
    """Maps one word of text to the ids of the word patterns it matches."""

    __slots__ = ("_exact_lit", "_exact_pre", "_exact_pre_lens", "_ids", "_lit", "_pre", "_pre_lens", "_rx",
                 "_words")

    def __init__(self) -> None:
        self._lit: dict[str, list[int]] = {}
        self._exact_lit: dict[str, list[int]] = {}
        self._pre: dict[str, list[int]] = {}
        self._exact_pre: dict[str, list[int]] = {}
        self._pre_lens: tuple[int, ...] = ()
        self._exact_pre_lens: tuple[int, ...] = ()
        self._rx: list[tuple[re.Pattern[str], bool, int]] = []
        self._ids: dict[tuple[str, bool], int] = {}
        self._words: list[tuple[str, bool]] = []

    def add(self, word: str, exact: bool) -> int:
        """The id of a word pattern (folded unless exact), registering it on first sight."""
        key = (word, exact)
        known = self._ids.get(key)
        if known is not None:
            return known
        pid = len(self._words)
        self._ids[key] = pid
        self._words.append(key)
        stars = word.count("*")
        if stars == 0:
            (self._exact_lit if exact else self._lit).setdefault(word, []).append(pid)
        elif stars == 1 and word.endswith("*"):
            prefix = word[:-1]
            (self._exact_pre if exact else self._pre).setdefault(prefix, []).append(pid)
            if exact:
                self._exact_pre_lens = tuple(sorted({*self._exact_pre_lens, len(prefix)}))
            else:
                self._pre_lens = tuple(sorted({*self._pre_lens, len(prefix)}))
        else:
            pattern = r"\w*".join(re.escape(c) for c in word.split("*"))
            self._rx.append((re.compile(pattern), exact, pid))
        return pid

    def words_of(self, pids: tuple[int, ...]) -> list[tuple[str, bool]]:
        """The (pattern, exact) pairs behind some ids."""
        return [self._words[p] for p in pids]

    def lookup(self, word: str) -> tuple[int, ...]:
        """Ids of every pattern that ``word`` (as written in the text) matches."""
        folded = fold(word)
        ids: list[int] = []
        ids.extend(self._lit.get(folded, ()))
        ids.extend(self._exact_lit.get(word, ()))
        n = len(folded)
        for k in self._pre_lens:
            if k > n:
                break
            ids.extend(self._pre.get(folded[:k], ()))
        m = len(word)
        for k in self._exact_pre_lens:
            if k > m:
                break
            ids.extend(self._exact_pre.get(word[:k], ()))
        for rx, exact, pid in self._rx:
            if rx.fullmatch(word if exact else folded):
                ids.append(pid)
        return tuple(sorted(set(ids)))


class Plan:
    """A compiled rule node; ``id`` keys the per-text memo."""

    __slots__ = ("id",)

    def __init__(self, pid: int) -> None:
        self.id = pid


class TermPlan(Plan):
    """A word or phrase: its word-pattern ids, and which word the matcher looks up by position."""

    __slots__ = ("key", "not_in_caps", "others", "pids", "source")

    def __init__(self, pid: int, pids: tuple[int, ...], key: int, not_in_caps: bool, source: str) -> None:
        super().__init__(pid)
        self.pids = pids
        self.key = key  # index into pids of the longest word (likely the rarest); others are only verified
        # The other words of a phrase: (offset from the key word, pattern id).
        self.others = tuple((j - key, pids[j]) for j in range(len(pids)) if j != key)
        self.not_in_caps = not_in_caps
        self.source = source


class ExcludeTerms(tuple[TermPlan, ...]):
    """The terms of one ``except`` list, and the same terms by the id of their key word."""

    by_key: dict[int, tuple[TermPlan, ...]]
    keys: frozenset[int]


def _exclude_terms(plans: tuple[TermPlan, ...]) -> ExcludeTerms:
    out = ExcludeTerms(plans)
    by_key: dict[int, tuple[TermPlan, ...]] = {}
    for t in plans:
        k = t.pids[t.key]
        by_key[k] = (*by_key.get(k, ()), t)
    out.by_key = by_key
    out.keys = frozenset(by_key)
    return out


class AnyPlan(Plan):
    __slots__ = ("exclude", "items", "phrases", "positional", "words")

    def __init__(self, pid: int, items: tuple[Plan, ...], words: frozenset[int],
                 phrases: dict[int, tuple[TermPlan, ...]], exclude: ExcludeTerms, positional: bool) -> None:
        super().__init__(pid)
        self.items = items  # what is neither a plain word nor a plain phrase
        self.words = words  # word-pattern ids of the plain single-word items
        self.phrases = phrases  # plain phrases, by the id of their longest word (looked at only if present)
        self.exclude = exclude
        self.positional = positional


class AllPlan(Plan):
    __slots__ = ("items",)

    def __init__(self, pid: int, items: tuple[Plan, ...]) -> None:
        super().__init__(pid)
        self.items = items


class NotPlan(Plan):
    __slots__ = ("item",)

    def __init__(self, pid: int, item: Plan) -> None:
        super().__init__(pid)
        self.item = item


class NearPlan(Plan):
    __slots__ = ("across", "exclude", "left", "left_first", "ordered", "right", "within")

    def __init__(self, pid: int, left: Plan, right: Plan, within: int, ordered: bool,
                 exclude: ExcludeTerms, across: bool) -> None:
        super().__init__(pid)
        self.across = across
        # Evaluate the cheaper operand first: when it is absent the other is never looked at.
        self.left_first = _cost(left) <= _cost(right)
        self.left = left
        self.right = right
        self.within = within
        self.ordered = ordered
        self.exclude = exclude


@dataclass(frozen=True, slots=True)
class CompiledRule:
    plan: Plan
    weight: float
    label: str


@dataclass(frozen=True, slots=True)
class CompiledBlock:
    """One language block of one theme, ready to run."""

    theme: str
    version: str
    lang: str
    rules: tuple[CompiledRule, ...]
    scope: Plan | None
    threshold: float
    scope_needles: NeedleCheck | None  # None: no prefilter possible
    rule_needles: NeedleCheck | None


@dataclass
class Compiler:
    """Turns rule nodes into plans over one shared word table."""

    table: WordTable = field(default_factory=WordTable)
    plans: dict[Node, Plan] = field(default_factory=dict)
    # The same, by object: a shared definition is met again and again, and hashing a node hashes its
    # whole subtree (frozen dataclasses do not keep their hash). Holds the node so its id stays its own.
    by_object: dict[int, tuple[Node, Plan]] = field(default_factory=dict)
    needles: dict[int, Needles | None] = field(default_factory=dict)
    checks: dict[Needles, NeedleCheck] = field(default_factory=dict)
    indexed: set[int] = field(default_factory=set)  # word-pattern ids whose positions the matcher records
    excludes: dict[tuple[Term, ...], ExcludeTerms] = field(default_factory=dict)
    count: int = 0

    def block(self, theme: ThemeDef, block: LanguageBlock) -> CompiledBlock:
        rules = tuple(CompiledRule(self.plan(r.node), r.weight, r.label) for r in block.rules)
        scope = self.plan(block.scope) if block.scope is not None else None
        positive = [r for r in rules if r.weight > 0]
        rule_needles: Needles | None = Needles()
        for r in positive:
            n = self.needles_of(r.plan)
            rule_needles = None if n is None or rule_needles is None else rule_needles | n
        scope_needles = self.needles_of(scope) if scope is not None else None
        return CompiledBlock(theme=theme.id, version=theme.version, lang=block.lang, rules=rules, scope=scope,
                             threshold=block.threshold,
                             scope_needles=self._check(scope_needles), rule_needles=self._check(rule_needles))

    def _check(self, needles: Needles | None) -> NeedleCheck | None:
        """One compiled check per distinct set of needles (blocks sharing a scope share its check)."""
        if needles is None:
            return None
        if needles not in self.checks:
            self.checks[needles] = NeedleCheck(needles)
        return self.checks[needles]

    def plan(self, node: Node) -> Plan:
        seen = self.by_object.get(id(node))
        if seen is not None:
            return seen[1]
        known = self.plans.get(node)
        if known is not None:
            self.by_object[id(node)] = (node, known)
            return known
        pid = self.count
        self.count += 1
        plan: Plan
        if isinstance(node, Term):
            plan = self._term(pid, node)
        elif isinstance(node, AnyOf):
            items: list[Plan] = []
            words: set[int] = set()
            phrases: dict[int, tuple[TermPlan, ...]] = {}
            for item in _flatten(node):
                sub = self.plan(item)
                if isinstance(sub, TermPlan) and not sub.not_in_caps:
                    if len(sub.pids) == 1:
                        words.add(sub.pids[0])
                    else:
                        key = sub.pids[sub.key]
                        phrases[key] = (*phrases.get(key, ()), sub)
                else:
                    items.append(sub)
            plan = AnyPlan(pid, tuple(items), frozenset(words), phrases,
                           self._exclude(node.exclude),
                           positional=all(_positional(self.plan(i)) for i in node.items))
        elif isinstance(node, AllOf):
            plan = AllPlan(pid, tuple(self.plan(i) for i in node.items))
        elif isinstance(node, Not):
            plan = NotPlan(pid, self.plan(node.item))
        else:
            plan = NearPlan(pid, self.plan(node.left), self.plan(node.right), node.within, node.ordered,
                            self._exclude(node.exclude), node.across_sentences)
        self.plans[node] = plan
        self.by_object[id(node)] = (node, plan)
        return plan

    def _exclude(self, terms: tuple[Term, ...]) -> ExcludeTerms:
        """One plan tuple per distinct ``except`` list, so the matcher finds its terms once per text."""
        known = self.excludes.get(terms)
        if known is None:
            known = _exclude_terms(tuple(self._term(-1, t) for t in terms))
            self.excludes[terms] = known
        return known

    def _term(self, pid: int, term: Term) -> TermPlan:
        key = max(range(len(term.words)), key=lambda i: len(term.words[i].replace("*", "")))
        pids = tuple(self.table.add(w, term.exact) for w in term.words)
        self.indexed.add(pids[key])
        return TermPlan(pid, pids, key, term.not_in_caps, term.source)

    def needles_of(self, plan: Plan) -> Needles | None:
        if plan.id in self.needles:
            return self.needles[plan.id]
        result: Needles | None
        if isinstance(plan, TermPlan):
            result = term_needles(self.table.words_of(plan.pids))
        elif isinstance(plan, AnyPlan):
            result = Needles()
            for pid in sorted(plan.words):
                result = result | _word_needles(pid, self.table)
            for group in plan.phrases.values():
                for phrase in group:
                    result = result | self.needles_of(phrase)  # type: ignore[operator]
            for item in plan.items:
                n = self.needles_of(item)
                if n is None:
                    result = None
                    break
                result = result | n
        elif isinstance(plan, AllPlan):
            result = _best([self.needles_of(i) for i in plan.items])
        elif isinstance(plan, NearPlan):
            result = _best([self.needles_of(plan.left), self.needles_of(plan.right)])
        else:
            result = None  # a `not` can match any text
        self.needles[plan.id] = result
        return result


def _cost(plan: Plan) -> int:
    """A rough count of the terms a plan looks at."""
    if isinstance(plan, TermPlan):
        return 1
    if isinstance(plan, AnyPlan):
        return len(plan.words) + sum(map(len, plan.phrases.values())) + sum(_cost(i) for i in plan.items)
    if isinstance(plan, AllPlan):
        return sum(_cost(i) for i in plan.items)
    if isinstance(plan, NotPlan):
        return _cost(plan.item)
    assert isinstance(plan, NearPlan)
    return _cost(plan.left) + _cost(plan.right)


def _flatten(node: AnyOf) -> list[Node]:
    """The items of an ``any``, with nested ``any`` lists (without ``except``) spliced in."""
    out: list[Node] = []
    for item in node.items:
        if isinstance(item, AnyOf) and not item.exclude:
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _positional(plan: Plan) -> bool:
    if isinstance(plan, TermPlan | NearPlan):
        return True
    if isinstance(plan, AnyPlan):
        return plan.positional
    return False


def _word_needles(pid: int, table: WordTable) -> Needles:
    found = term_needles(table.words_of((pid,)))
    assert found is not None  # every word has a literal chunk (parse_term rejects bare '*')
    return found


def _best(options: list[Needles | None]) -> Needles | None:
    usable = [n for n in options if n is not None]
    return max(usable, key=Needles.quality) if usable else None
