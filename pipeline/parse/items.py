"""Where a feed document's items are, in bytes, so that a changed feed can be parsed for its new items only.

expat (C) scans the document once; each top-level RSS ``item`` or Atom ``entry`` (under the root, or
under an RSS ``channel``) gives its byte span. :func:`without_items` rebuilds the document with some
items left out: everything before the first item and after the last stays as it is (the XML
declaration, namespaces, ``xml:base``, the channel's own elements), so feedparser reads each remaining
item as it would in the whole document. Anything expat cannot read as it is (ill-formed XML, an
encoding it lacks, entities it cannot expand) gives None: the caller parses the whole document.
"""

from __future__ import annotations

from itertools import pairwise
from xml.parsers import expat

__all__ = ["item_spans", "without_items"]

_ITEMS = frozenset({"item", "entry"})
_CONTAINERS = frozenset({"channel"})


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]


def item_spans(body: bytes) -> list[tuple[int, int]] | None:
    """Byte spans ``[start, end)`` of the document's items, in order; None when expat cannot read it."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[str] = []
    spans: list[tuple[int, int]] = []
    open_at: list[int] = []  # the start of the item being read (one at most: items do not nest here)

    def start(name: str, _attrs: object) -> None:
        local = _local(name)
        if local in _ITEMS and not open_at and (len(stack) == 1 or (stack and stack[-1] in _CONTAINERS)):
            open_at.append(parser.CurrentByteIndex)
            stack.append("\0item")  # a marker: nothing inside an item is an item
        else:
            stack.append(local)

    def end(_name: str) -> None:
        if stack.pop() == "\0item":
            close = body.find(b">", parser.CurrentByteIndex)
            spans.append((open_at.pop(), close + 1))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except (expat.ExpatError, ValueError, LookupError):
        return None
    if any(e <= s for s, e in spans) or any(b[0] < a[1] for a, b in pairwise(spans)):
        return None
    return spans


def without_items(body: bytes, spans: list[tuple[int, int]], keep: list[int]) -> bytes:
    """``body`` with only the items at indexes ``keep`` (in order) between its first and last item."""
    if not spans:
        return body
    head, tail = body[: spans[0][0]], body[spans[-1][1]:]
    return head + b"".join(body[spans[i][0]:spans[i][1]] for i in keep) + tail
