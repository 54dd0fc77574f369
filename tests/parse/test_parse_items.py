"""Item spans: a document with some items left out parses, item for item, as the whole one does."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ParseError
from pipeline.parse.feed import parse_feed
from pipeline.parse.items import item_spans, without_items

HEADERS = {"content-type": "application/xml"}
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel xml:base="https://ex.example/news/">
<title>T</title><link>https://ex.example/</link>
<item><title>One</title><link>a</link><description><![CDATA[<p>x</item> y</p>]]></description></item>
<item><title>Two</title><guid>g2</guid><dc:creator>Z</dc:creator></item>
<item/>
<lastBuildDate>Mon, 02 Mar 2026 10:00:00 GMT</lastBuildDate>
</channel></rss>"""
ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://ex.example/">
<title>A</title><entry><id>e1</id><title>E1</title><link href="p/1"/></entry>
<entry><id>e2</id><title>E2</title><content type="html">&lt;b&gt;two&lt;/b&gt;</content></entry></feed>"""
RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://ex.example/"><title>R</title>
<items><rdf:Seq><rdf:li resource="https://ex.example/1"/></rdf:Seq></items></channel>
<item rdf:about="https://ex.example/1"><title>R1</title><link>https://ex.example/1</link></item>
<item rdf:about="https://ex.example/2"><title>R2</title><link>https://ex.example/2</link></item></rdf:RDF>"""


@pytest.mark.parametrize(("body", "count"), [(RSS, 3), (ATOM, 2), (RDF, 2)])
def test_items_are_found_in_rss_atom_and_rdf(body: bytes, count: int) -> None:
    spans = item_spans(body)
    assert spans is not None and len(spans) == count
    assert all(body[a:a + 1] == b"<" and body[b - 1:b] == b">" for a, b in spans)
    full = parse_feed(body, HEADERS, "https://ex.example/feed")
    for keep in ([], [0], [count - 1], list(range(count))):
        part = parse_feed(without_items(body, spans, keep), HEADERS, "https://ex.example/feed")
        assert list(part.entries) == [full.entries[i] for i in keep]
        assert part.title == full.title


def test_markup_inside_an_item_is_not_an_item_boundary() -> None:
    spans = item_spans(RSS)
    assert spans is not None
    first = RSS[spans[0][0]:spans[0][1]]
    assert first.startswith(b"<item><title>One") and first.endswith(b"]]></description></item>")


@pytest.mark.parametrize("body", [
    b"<rss><channel><item><title>x</channel></rss>",  # ill-formed
    b"<rss><channel><item><title>x &nbsp; y</title></item></channel></rss>",  # an undeclared entity
    b"not xml at all",
])
def test_what_expat_cannot_read_as_it_is_gives_none(body: bytes) -> None:
    assert item_spans(body) is None


@pytest.mark.parametrize("body", [
    # A single-byte encoding expat reads through Python's codec: offsets stay byte offsets.
    b'<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>\xd0</title>'
    b"<item><title>\xe0\xe1</title></item><item><title>\xe2</title></item></channel></rss>",
    # An external entity expat leaves unexpanded: the items parse as they do in the whole document.
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e SYSTEM "http://ex.example/e">]><rss version="2.0">'
    b"<channel><item><title>a &e; b</title></item><item><title>c</title></item></channel></rss>",
])
def test_documents_expat_reads_otherwise_still_parse_item_for_item(body: bytes) -> None:
    spans = item_spans(body)
    assert spans is not None and len(spans) == 2
    full = parse_feed(body, HEADERS, "https://ex.example/feed")
    assert list(parse_feed(without_items(body, spans, [1]), HEADERS, "https://ex.example/feed").entries) == [
        full.entries[1]]


def test_every_corpus_document_parses_item_for_item_with_items_left_out(shared_data: Path) -> None:
    """The real and torture-case documents: each that expat reads, with every other item left out and
    with only its last item, gives exactly the whole document's entries for the items kept."""
    documents = checked = entries = 0
    for path in sorted((shared_data / "feeds").rglob("*")):
        if not path.is_file() or path.suffix.lower() in (".tsv", ".md", ".txt", ".json") or "LICENSE" in path.name:
            continue
        body = path.read_bytes()
        spans = item_spans(body)
        if spans is None or len(spans) < 2:
            continue
        url = f"https://news.example/{path.name}"
        try:
            full = parse_feed(body, HEADERS, url)
        except ParseError:
            continue
        documents += 1
        assert len(full.entries) == len(spans), path
        for keep in (list(range(0, len(spans), 2)), [len(spans) - 1], list(range(len(spans)))):
            part = parse_feed(without_items(body, spans, keep), HEADERS, url)
            assert list(part.entries) == [full.entries[i] for i in keep], (path, keep)
            checked += 1
            entries += len(keep)
    assert documents > 150 and entries > 5000, (documents, checked, entries)
