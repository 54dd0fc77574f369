"""The compiled matcher: which themes a text carries, with score and evidence.

The text matched is ``title + "\\n\\n" + text`` (just ``text`` when there is no title);
evidence offsets are character offsets into that string. Matching is a pure function of
the text and the definitions; the only state kept between calls is a memory of how each
distinct word was classified (bounded by ``word_cache_size``), which changes speed, never
results, also when one matcher serves several threads.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from itertools import compress, islice

from pipeline.themes.compile import (
    AllPlan,
    AnyPlan,
    CompiledBlock,
    Compiler,
    ExcludeTerms,
    NearPlan,
    NotPlan,
    Plan,
    TermPlan,
    WordTable,
)
from pipeline.themes.model import ThemeInfo, ThemeSet
from pipeline.themes.prefilter import NeedleCheck
from pipeline.themes.settings import MatcherSettings
from pipeline.themes.text import WORD, combine, fold, is_caps_word, normalize, words_and_sentences
from pipeline.types import Evidence, ThemeHit

Span = tuple[int, int]  # first and last word index, inclusive
Result = list[Span] | None  # None: no match; a list (maybe empty, for `not`): matched, with its spans


def compile_themes(theme_set: ThemeSet, settings: MatcherSettings | None = None) -> Matcher:
    """Compile parsed definitions once into a :class:`Matcher`."""
    compiler = Compiler()
    blocks = tuple(compiler.block(t, b) for t in theme_set.themes for b in t.blocks)
    infos = tuple(ThemeInfo(id=t.id, label=t.label, version=t.version, description=t.description,
                            languages=t.languages) for t in theme_set.themes)
    return Matcher(blocks, infos, compiler.table, frozenset(compiler.indexed), settings or MatcherSettings())


class Matcher:
    """Tags texts with the themes they carry. Build it with :func:`compile_themes`."""

    def __init__(self, blocks: tuple[CompiledBlock, ...], themes: tuple[ThemeInfo, ...], table: WordTable,
                 indexed: frozenset[int], settings: MatcherSettings, *, prefilter: bool = True) -> None:
        self._blocks = blocks
        self.themes = themes  # ids, labels and versions, in definition order
        self._vocabulary = _Vocabulary(table, indexed, settings.word_cache_size)
        self._settings = settings
        self._prefilter = prefilter

    def without_prefilter(self) -> Matcher:
        """The same matcher reading every text in full (for checking that the prefilter is exact)."""
        twin = Matcher(self._blocks, self.themes, self._vocabulary.table, self._vocabulary.indexed, self._settings,
                       prefilter=False)
        twin._vocabulary = self._vocabulary
        return twin

    def match(self, text: str, title: str = "", lang: str | None = None) -> list[ThemeHit]:
        """The themes ``title + "\\n\\n" + text`` carries; ``lang`` limits rules to one language block."""
        original = combine(text or "", title or "")[: self._settings.max_text_chars]
        blocks = [b for b in self._blocks if lang is None or b.lang == lang]
        if self._prefilter:
            blocks = _prefiltered(blocks, original)
        if not blocks:
            return []
        norm = normalize(original)
        doc = _Doc(norm, self._vocabulary)
        best: dict[str, tuple[float, CompiledBlock, list[tuple[str, list[Span]]]]] = {}
        for block in blocks:
            if block.scope is not None and doc.eval(block.scope) is None:
                continue
            score = 0.0
            evidence: list[tuple[str, list[Span]]] = []
            for rule in block.rules:
                res = doc.eval(rule.plan)
                if res is not None:
                    score += rule.weight
                    evidence.append((rule.label, res))
            if score >= block.threshold - 1e-9 and (block.theme not in best or score > best[block.theme][0]):
                best[block.theme] = (score, block, evidence)
        if not best:
            return []
        cap = self._settings.max_evidence_per_rule
        shown = {theme: [(label, sorted(set(spans))[:cap]) for label, spans in evidence]
                 for theme, (_, _, evidence) in best.items()}
        # Word offsets only as far as the last word shown (`not` rules show none).
        last = max((span[1] for rules in shown.values() for _, spans in rules for span in spans), default=-1)
        offsets = [m.span() for m in islice(WORD.finditer(norm), last + 1)]
        hits = []
        for info in self.themes:
            if info.id in best:
                score, block, _ = best[info.id]
                hits.append(ThemeHit(theme=info.id, score=round(score, 6), version=block.version,
                                     evidence=self._evidence(original, offsets, shown[info.id])))
        return hits

    def _evidence(self, original: str, offsets: list[tuple[int, int]],
                  shown: list[tuple[str, list[Span]]]) -> tuple[Evidence, ...]:
        out: list[Evidence] = []
        for label, spans in shown:
            for first, last in spans:
                start, end = offsets[first][0], offsets[last][1]
                out.append(Evidence(start=start, end=end, term=label,
                                    snippet=_snippet(original, start, end, self._settings.snippet_chars)))
        out.sort(key=lambda e: (e.start, e.end))
        return tuple(out)


def _prefiltered(blocks: list[CompiledBlock], raw: str) -> list[CompiledBlock]:
    """The blocks whose scope and rules can match at all, judged by needles in the raw text."""
    folded = "\n" + fold(raw)
    raw = "\n" + raw  # so that a fragment at the very start also follows a separator
    seen: dict[int, bool] = {}

    def present(needles: NeedleCheck | None) -> bool:
        if needles is None:
            return True
        key = id(needles)
        if key not in seen:
            seen[key] = needles.found(raw, folded)
        return seen[key]

    # Once one block passes, the text is read in full anyway: the other blocks whose scope may match are
    # then evaluated without checking their rules' needles, a scan that costs more than finding nothing.
    kept: list[CompiledBlock] = []
    for b in blocks:
        if present(b.scope_needles) and (kept or present(b.rule_needles)):
            kept.append(b)
    return kept


def _snippet(text: str, start: int, end: int, width: int) -> str:
    """The span with up to ``width`` characters on each side, cut at word boundaries."""
    lo, hi = max(0, start - width), min(len(text), end + width)
    if lo > 0:
        cut = text.find(" ", lo, start)
        lo = cut + 1 if cut != -1 else lo
    if hi < len(text):
        cut = text.rfind(" ", end, hi)
        hi = cut if cut != -1 else hi
    body = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


class _Vocabulary:
    """Which word patterns each distinct word matches, remembered across texts (bounded).

    ``ids`` maps a word that matches any pattern to their ids; ``keyed`` to the ids whose
    positions are recorded (the key words of terms). Both only hold words seen so far.
    """

    __slots__ = ("_seen", "_size", "ids", "indexed", "keyed", "table")

    def __init__(self, table: WordTable, indexed: frozenset[int], size: int) -> None:
        self.table = table
        self.indexed = indexed
        self._size = size
        self._seen: set[str] = set()
        self.ids: dict[str, tuple[int, ...]] = {}
        self.keyed: dict[str, tuple[int, ...]] = {}

    def learn(self, words: set[str]) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """Classify the words not seen before; the (ids, keyed) maps to use for this text.

        Set operations keep the usual case (all words known) in C. When the memory is full it
        is replaced, never emptied in place, so a text being matched meanwhile (another thread)
        keeps the maps it was given.
        """
        seen, ids, keyed = self._seen, self.ids, self.keyed
        new = words - seen
        if not new:
            return ids, keyed
        if len(seen) + len(new) > self._size:  # bounded memory on endless vocabularies
            seen, ids, keyed = set(), {}, {}
            self._seen, self.ids, self.keyed = seen, ids, keyed
            new = words
        for w in new:
            found = self.table.lookup(w)
            if found:
                ids[w] = found
                key_ids = tuple(p for p in found if p in self.indexed)
                if key_ids:
                    keyed[w] = key_ids
        seen |= new
        return ids, keyed


_UNSET: Result = [(-1, -1)]  # marks a plan not evaluated yet (None is a result); never returned


class _Doc:
    """One text's words, where the key words of terms occur, and a memo of evaluated plans."""

    __slots__ = ("blocked", "ids", "memo", "occ", "sentence", "terms", "words")

    def __init__(self, norm: str, vocabulary: _Vocabulary) -> None:
        words, self.sentence = words_and_sentences(norm)
        self.words = words
        self.ids, keyed = vocabulary.learn(set(words))
        occ: defaultdict[int, list[int]] = defaultdict(list)
        # Only the key word of each term is recorded by position (function words such as "of" in
        # "fall of" are only verified next to it), which keeps this loop short.
        for i in compress(range(len(words)), map(keyed.__contains__, words)):
            for pid in keyed[words[i]]:
                occ[pid].append(i)
        self.occ = occ
        self.memo: dict[int, Result] = {}
        self.terms: dict[TermPlan, list[Span]] = {}  # the phrases of `any` lists found so far
        # Where the terms of each `except` list occur, found once per text (lists are shared by many rules).
        self.blocked: dict[int, list[Span]] = {}

    def eval(self, plan: Plan) -> Result:
        result = self.memo.get(plan.id, _UNSET)
        if result is not _UNSET:
            return result
        # Dispatch on the exact class (plans are never subclassed): cheaper than a chain of isinstance.
        kind = type(plan)
        if kind is AnyPlan:
            result = self._any(plan)  # type: ignore[arg-type]
        elif kind is NearPlan:
            result = self._near(plan)  # type: ignore[arg-type]
        elif kind is TermPlan:
            result = self._term(plan) or None  # type: ignore[arg-type]
        elif kind is AllPlan:
            assert isinstance(plan, AllPlan)
            spans: set[Span] = set()
            result = []
            for item in plan.items:
                part = self.eval(item)
                if part is None:
                    result = None
                    break
                spans.update(part)
            if result is not None:
                result = sorted(spans)
        else:
            assert isinstance(plan, NotPlan)
            result = [] if self.eval(plan.item) is None else None
        self.memo[plan.id] = result
        return result

    def _term(self, plan: TermPlan) -> list[Span]:
        pids = plan.pids
        n = len(pids)
        if n == 1:
            at = self.occ.get(pids[0], ())
            spans = list(zip(at, at, strict=True))
        else:
            k = plan.key
            words, ids = self.words, self.ids
            # Key positions whose whole phrase lies inside the text: q - k >= 0 and q - k + n <= len(words).
            lo, hi = k, len(words) - n + k
            others = plan.others
            if len(others) == 1:  # most phrases have two words: no generator per position
                (d, pid), = others
                spans = [(q - k, q - k + n - 1) for q in self.occ.get(pids[k], ())
                         if lo <= q <= hi and pid in ids.get(words[q + d], ())]
            else:
                spans = [(q - k, q - k + n - 1) for q in self.occ.get(pids[k], ())
                         if lo <= q <= hi and all(pid in ids.get(words[q + d], ()) for d, pid in others)]
        if plan.not_in_caps:
            spans = [s for s in spans if not self._in_caps(s)]
        return spans

    def _in_caps(self, span: Span) -> bool:
        """True when every neighbouring word of the span is in capitals (and there is one)."""
        neighbours = [self.words[i] for i in (span[0] - 1, span[1] + 1) if 0 <= i < len(self.words)]
        return bool(neighbours) and all(is_caps_word(w) for w in neighbours)

    def _any(self, plan: AnyPlan) -> Result:
        # Each part is sorted and without repeats (as every result is): one part needs no merging.
        parts: list[list[Span]] = []
        matched = False  # also true when only a `not` matched, which brings no spans
        occ = self.occ
        words = plan.words
        if words:
            # Iterate over the smaller side: `keys & frozenset` would walk the whole (often long) word set.
            for pid in (occ.keys() & words) if len(words) <= len(occ) else words.intersection(occ):
                at = occ[pid]
                parts.append(list(zip(at, at, strict=True)))  # (p, p) spans, built in C
        if plan.phrases:
            terms = self.terms
            for pid in occ.keys() & plan.phrases.keys():
                for phrase in plan.phrases[pid]:
                    # A phrase is often listed in several `any` lists: find it once per text.
                    found = terms.get(phrase)
                    if found is None:
                        found = terms[phrase] = self._term(phrase)
                    if found:
                        parts.append(found)
        for item in plan.items:
            res = self.eval(item)
            if res is not None:
                matched = True
                if res:
                    parts.append(res)
        if not parts and not matched:
            return None
        out = parts[0] if len(parts) == 1 else sorted(set().union(*parts))
        if plan.exclude:
            out = self._drop_excluded(out, plan.exclude)
            if not out:
                return None
        return out

    def _near(self, plan: NearPlan) -> Result:
        first, second = (plan.left, plan.right) if plan.left_first else (plan.right, plan.left)
        found = self.eval(first)
        if not found:
            return None
        other = self.eval(second)
        if not other:
            return None
        left, right = (found, other) if plan.left_first else (other, found)
        right = sorted(right)
        starts = [s for s, _ in right]
        longest = max(e - s for s, e in right)
        within = plan.within
        sentence = None if plan.across else self.sentence
        out: set[Span] = set()
        for ls, le in left:
            lo = bisect_left(starts, ls - within - longest)
            hi = bisect_right(starts, le + within)
            best: Span | None = None
            best_d = within + 1
            for rs, re_ in right[lo:hi]:
                if rs > le:
                    d = rs - le
                elif plan.ordered:
                    continue
                else:
                    d = ls - re_ if ls > re_ else 0
                if d < best_d:
                    span = (min(ls, rs), max(le, re_))
                    if sentence is None or sentence[span[0]] == sentence[span[1]]:
                        best_d, best = d, span
            if best is not None:
                out.add(best)
        spans = sorted(out)
        if plan.exclude:
            spans = self._drop_excluded(spans, plan.exclude)
        return spans or None

    def _drop_excluded(self, spans: list[Span], exclude: ExcludeTerms) -> list[Span]:
        blocked = self.blocked.get(id(exclude))
        if blocked is None:
            # A term can only occur where its key word does: look only at those present in this text.
            by_key = exclude.by_key
            blocked = sorted(s for k in exclude.keys & self.occ.keys() for t in by_key[k] for s in self._term(t))
            self.blocked[id(exclude)] = blocked
        if not blocked:
            return spans
        starts = [s for s, _ in blocked]
        longest = max(e - s for s, e in blocked)
        kept = []
        for s, e in spans:
            lo = bisect_left(starts, s - longest)
            hi = bisect_right(starts, e)
            if not any(bs <= e and be >= s for bs, be in blocked[lo:hi]):
                kept.append((s, e))
        return kept
