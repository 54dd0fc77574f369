"""Helpers for the feed-corpus end-to-end test: which files, how to serve them, what feedparser reads.

The corpus is ../shared/data/feeds (real saved feeds and feedparser's own torture cases).  Every
file is served from one local server under its own path; this module decides the reply for each
file and counts, independently of the pipeline, the entries feedparser reads from it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser

FEEDS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "feeds"

_XML_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf"})
# feedparser's own tests state the HTTP headers they expect in their leading comment, e.g.
#   Header:      Content-type: text/xml; charset=windows-1252
# Only ASCII-compatible documents can be read this way; UTF-16/32 cases carry no such line.
_HEADER_LINE = re.compile(rb"^Header:[ \t]*([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*?)[ \t]*\r?$", re.M)
_COMMENT_END = b"-->"


@dataclass(frozen=True, slots=True)
class CorpusFile:
    """One document of the corpus and how it is served."""

    path: Path
    name: str  # the path relative to the corpus folder: the source name too
    url_path: str  # the server path
    content_type: str
    headers: dict[str, str]  # further response headers (from a feedparser test's comment)


def default_content_type(path: Path) -> str:
    """By extension: XML without a charset (the document's own declaration decides), JSON, else text/plain."""
    suffix = path.suffix.lower()
    if suffix in _XML_SUFFIXES:
        return "application/xml"
    if suffix == ".json":
        return "application/json"
    return "text/plain"


def comment_headers(body: bytes) -> dict[str, str]:
    """The ``Header: Name: value`` lines of a feedparser test's leading comment (names as written)."""
    end = body.find(_COMMENT_END)
    head = body[: end if end >= 0 else 4096]
    found: dict[str, str] = {}
    for m in _HEADER_LINE.finditer(head):
        found[m.group(1).decode("ascii")] = m.group(2).decode("latin-1")
    return found


def safe_segment(name: str) -> str:
    """A URL path segment made of unreserved characters only (the server compares raw paths)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[-80:] or "file"


def discover(root: Path = FEEDS_DIR) -> list[CorpusFile]:
    """Every file under *root*, in a stable order, each with its path, name and reply headers."""
    files: list[CorpusFile] = []
    for i, path in enumerate(sorted(p for p in root.rglob("*") if p.is_file())):
        rel = path.relative_to(root).as_posix()
        content_type = default_content_type(path)
        headers: dict[str, str] = {}
        if rel.startswith("feedparser-tests/"):
            for key, value in comment_headers(path.read_bytes()).items():
                if key.lower() == "content-type":
                    content_type = value
                else:
                    headers[key] = value
        name = rel if len(rel) <= 200 else f"{i:05d}:{rel[-190:]}"
        files.append(CorpusFile(path=path, name=name, url_path=f"/f{i:05d}/{safe_segment(path.name)}",
                                content_type=content_type, headers=headers))
    return files


def entry_key(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """How the pipeline tells entries of one feed apart: the id when there is one, else the link."""
    for field, kind in (("id", "id"), ("link", "link")):
        value = entry.get(field)
        if isinstance(value, str) and value.strip():
            return kind, value.strip()
    return None


def readable_keys(body: bytes, response_headers: Mapping[str, str]) -> set[tuple[str, str]]:
    """The distinct id-or-link keys of the entries feedparser reads from *body* served with these headers."""
    try:
        result = feedparser.parse(io.BytesIO(body), response_headers=dict(response_headers))
    except Exception:  # feedparser itself gives up: nothing is readable
        return set()
    keys = (entry_key(e) for e in result.get("entries", ()))
    return {k for k in keys if k is not None}


def count_readable(item: tuple[bytes, dict[str, str]]) -> int:
    """Process-pool friendly :func:`readable_keys` count."""
    body, headers = item
    return len(readable_keys(body, headers))
