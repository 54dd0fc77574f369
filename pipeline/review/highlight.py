"""Evidence snippets with the matched spans marked: a pure function of the article text and stored offsets."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.themes.text import combine

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a snippet; ``mark`` when it is matched text."""

    text: str
    mark: bool = False


@dataclass(frozen=True, slots=True)
class Snippet:
    """Text around one or more matched spans, with the rules that matched there."""

    segments: tuple[Segment, ...]
    terms: tuple[str, ...]


def _spans(evidence: Sequence[Mapping[str, Any]], length: int) -> list[tuple[int, int, str]]:
    out = []
    for e in evidence:
        start, end = e.get("start"), e.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length:
            out.append((start, end, str(e.get("term") or "")))
    return sorted(out)


@dataclass(frozen=True, slots=True)
class Highlighted:
    """An article's title with its matches marked, and snippets of its text around the other matches."""

    title: tuple[Segment, ...]
    snippets: tuple[Snippet, ...]
    title_terms: tuple[str, ...]


def highlight(
    title: str, text: str, evidence: Sequence[Mapping[str, Any]], *, width: int = 90, limit: int = 3
) -> Highlighted:
    """Mark the evidence spans: in the title itself, and in up to ``limit`` snippets of the text.

    Offsets refer to the text the matcher read, ``title + blank line + text`` (see
    ``pipeline.themes.text.combine``). Spans closer than ``width`` share one snippet. When no stored offset
    fits (the text changed since), the stored snippets are shown unmarked rather than marking wrong words.
    """
    title, text = title or "", text or ""
    original = combine(text, title)
    spans = _spans(evidence, len(original))
    if not spans:
        plain = [str(e["snippet"]) for e in evidence if isinstance(e.get("snippet"), str) and e["snippet"]]
        terms = tuple(dict.fromkeys(str(e.get("term") or "") for e in evidence if e.get("term")))
        snips = [Snippet((Segment(_SPACE.sub(" ", s).strip()),), terms) for s in dict.fromkeys(plain)][:limit]
        return Highlighted((Segment(title),), tuple(snips), ())
    body_at = len(title) + 2 if title else 0  # where the text starts in the matched string
    # A span may run from the title into the text (a "near" rule): each part is marked where it lies.
    in_title = [(s, min(e, len(title)), t) for s, e, t in spans if s < len(title)] if title else []
    in_body = [(max(s, body_at) - body_at, e - body_at, t) for s, e, t in spans if e > body_at]
    title_segments = _marked(title, [(s, e) for s, e, _ in in_title], 0, len(title)) if in_title else [Segment(title)]
    # Group body spans whose context windows touch.
    groups: list[list[tuple[int, int, str]]] = []
    for span in in_body:
        if groups and span[0] - width <= max(e for _, e, _ in groups[-1]) + width:
            groups[-1].append(span)
        else:
            groups.append([span])
    return Highlighted(
        title=tuple(title_segments),
        snippets=tuple(_snippet(text, group, width) for group in groups[:limit]),
        title_terms=tuple(dict.fromkeys(t for _, _, t in in_title if t)),
    )


def _marked(source: str, spans: list[tuple[int, int]], lo: int, hi: int) -> list[Segment]:
    """``source[lo:hi]`` cut into plain and marked segments (overlapping spans merged)."""
    marks: list[list[int]] = []
    for start, end in sorted(spans):
        if marks and start <= marks[-1][1]:
            marks[-1][1] = max(marks[-1][1], end)
        else:
            marks.append([start, end])
    pieces: list[Segment] = []
    pos = lo
    for start, end in marks:
        if start > pos:
            pieces.append(Segment(source[pos:start]))
        pieces.append(Segment(source[start:end], mark=True))
        pos = end
    if hi > pos:
        pieces.append(Segment(source[pos:hi]))
    return [Segment(_SPACE.sub(" ", p.text), p.mark) for p in pieces]


def _snippet(original: str, group: list[tuple[int, int, str]], width: int) -> Snippet:
    first, last = group[0][0], max(e for _, e, _ in group)
    lo, hi = max(0, first - width), min(len(original), last + width)
    # Cut at word boundaries so the snippet does not start or end inside a word.
    if lo > 0:
        cut = original.find(" ", lo, first)
        lo = cut + 1 if cut != -1 else lo
    if hi < len(original):
        cut = original.rfind(" ", last, hi)
        hi = cut if cut != -1 else hi
    segments = _marked(original, [(s, e) for s, e, _ in group], lo, hi)
    if segments and not segments[0].mark:
        segments[0] = Segment(segments[0].text.lstrip())
    if segments and not segments[-1].mark:
        segments[-1] = Segment(segments[-1].text.rstrip())
    if lo > 0:
        segments.insert(0, Segment("\u2026 "))
    if hi < len(original):
        segments.append(Segment(" \u2026"))
    terms = tuple(dict.fromkeys(t for _, _, t in group if t))
    return Snippet(tuple(s for s in segments if s.text), terms)
