"""Entries already stored as they are skip the costly steps (MinHash signature, tagging), with the same
result as processing them in full: new and edited entries are stored, the rest left alone."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from pipeline.config import Config, build_matcher, load_config  # noqa: E402
from pipeline.service.poll import poll_once  # noqa: E402
from pipeline.storage.articles import StoredEntry  # noqa: E402
from pipeline.storage.db import Database  # noqa: E402
from pipeline.storage.migrate import upgrade  # noqa: E402
from pipeline.storage.models import Article, ArticleTheme, Source  # noqa: E402
from pipeline.types import FetchResult  # noqa: E402
from pipeline.update import process_feed  # noqa: E402
from tests.support.feedserver import FeedServer, Reply  # noqa: E402

G = "guid:https://ex.example/"  # the identity of an entry of feed()
RETURNEES = ("Hundreds of Islamic State fighters are returning to their home countries from Syria and Iraq, "
             "and officials warned that the returning foreign terrorist fighters pose a growing threat to "
             "security services, which must prosecute and rehabilitate them.")


def feed(items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{guid} report</title><link>https://ex.example/{guid}</link><guid>https://ex.example/{guid}</guid>"
                   f"<pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate><description>{text}</description></item>"
                   for guid, text in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def config(tmp_path: Path, db_url: str, url: str) -> Config:
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: {db_url}\nthemes: {_ROOT / 'seeds' / 'themes.yaml'}\n"
                 f"fetch:\n  allow_private_networks: true\nsources:\n  - name: a\n    url: {url}\n")
    return load_config(p)


@contextmanager
def served(tmp_path: Path, db_url: str, body: bytes) -> Iterator[tuple[FeedServer, Config, Database]]:
    """A feed served at /f, a config polling it into a migrated database at ``db_url``."""
    with FeedServer() as server:
        cfg = config(tmp_path, db_url, server.add("/f", Reply(body=body)))
        db = Database(cfg.database.url)
        upgrade(db)
        try:
            yield server, cfg, db
        finally:
            db.dispose()


def test_known_entries_skip_signature_and_tags_with_the_same_result_for_the_rest(tmp_path: Path) -> None:
    cfg = config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "http://127.0.0.1:9/f")
    matcher = build_matcher(cfg)
    body = feed([("g1", RETURNEES), ("g2", RETURNEES + " More."), ("g3", "Weather: rain in the north.")])
    fetch = FetchResult(source_id=1, url="http://127.0.0.1:9/f", status=200, fetched_at=datetime.now(UTC), body=body)
    full = process_feed(fetch, cfg, matcher)
    by_identity = {a.data.identity: a for a in full.articles}
    g1 = by_identity[G + "g1"].data
    asked: list[tuple[int, list[str]]] = []

    def stored(source_id: int, identities: Sequence[str]) -> Mapping[str, StoredEntry]:
        asked.append((source_id, sorted(identities)))
        # Rows stored before entry digests existed: compared by content hash.
        return {G + "g1": StoredEntry(g1.content_hash, None), G + "g2": StoredEntry("an older version's hash", None)}

    quick = process_feed(fetch, cfg, matcher, stored)
    assert asked == [(1, [G + "g1", G + "g2", G + "g3"])]  # one read for the whole feed
    assert quick.digests == ((G + "g1", g1.entry_digest),)  # recorded for the unchanged row that had none
    assert quick.unchanged == 1 and [a.data.identity for a in quick.articles] == [G + "g2", G + "g3"]
    assert quick.articles == tuple(a for a in full.articles if a.data.identity != G + "g1")  # signatures, tags
    assert by_identity[G + "g2"].hits and by_identity[G + "g2"].data.shingle_signature

    def broken(source_id: int, identities: Sequence[str]) -> Mapping[str, StoredEntry]:
        raise OSError("database gone")

    assert process_feed(fetch, cfg, matcher, broken).articles == full.articles  # a failed read costs speed only


def test_a_changed_feed_stores_new_and_edited_entries_only(tmp_path: Path, db_url: str) -> None:
    first = [(f"g{i}", f"{RETURNEES} Item {i}.") for i in range(10)]
    with served(tmp_path, db_url, feed(first)) as (server, cfg, db):
        for workers in (1, 2):  # inline and in worker processes
            if workers == 2:
                first = [(f"w{i}", f"{RETURNEES} Item {i}.") for i in range(10)]
                server.add("/f", Reply(body=feed(first)))
            s1 = poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=workers)
            changed = [*first[:8], (first[8][0], "Edited: " + first[8][1]), ("n1" if workers == 1 else "n2", RETURNEES)]
            server.add("/f", Reply(body=feed(changed)))
            s2 = poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=workers)
            assert (s1.articles_stored, s2.articles_stored, s2.failed) == (10, 1, 0)
            with db.session() as s:
                edited = s.scalar(select(Article.text).where(Article.identity == G + first[8][0]))
                tagged = set(s.scalars(select(Article.identity)
                                       .join(ArticleTheme, ArticleTheme.article_id == Article.id)
                                       .where(ArticleTheme.theme == "returning_fighters")))
            assert edited is not None and edited.startswith("Edited:")
            assert {G + g for g, _ in changed} <= tagged  # new and edited ones tagged, old ones kept


def test_entries_that_cannot_be_stored_are_counted_and_explained_on_the_feed(tmp_path: Path) -> None:
    empty = ('<item><link>https://ex.example/e1</link></item>'  # an id or link but no title and no text
             '<item><guid>https://ex.example/e2</guid><description>  </description></item>')
    good = feed([("g1", RETURNEES)]).replace(b"</channel>", empty.encode() + b"</channel>")
    cfg = config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "http://127.0.0.1:9/f")
    fetch = FetchResult(source_id=1, url="http://127.0.0.1:9/f", status=200, fetched_at=datetime.now(UTC), body=good,
                        headers={"content-type": "application/rss+xml"})
    update = process_feed(fetch, cfg, build_matcher(cfg))
    assert (len(update.articles), update.skipped) == (1, 2)
    assert update.warning == "2 of 3 entries not stored: entry has neither a title nor any text (2)"
    # An ill-formed feed keeps feedparser's complaint too, on its own line.
    bozo = process_feed(replace(fetch, body=good.replace(b"</channel></rss>", b"<item>")), cfg, build_matcher(cfg))
    assert bozo.skipped == 3 and bozo.warning is not None
    feedparser_line, skip_line = bozo.warning.splitlines()
    assert "SAXParseException" in feedparser_line and skip_line.startswith("3 of 4 entries not stored")


def test_a_poll_reports_skipped_entries_in_its_summary_and_sources_list(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    body = feed([("g1", RETURNEES)]).replace(b"</channel>", b"<item><link>https://ex.example/e1</link></item></channel>")
    with FeedServer() as server:
        url = server.add("/f", Reply(body=body))
        cfg_path = tmp_path / "config.yaml"
        config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", url)  # writes cfg_path
        assert main(["--config", str(cfg_path), "db", "upgrade"]) == 0
        assert main(["--config", str(cfg_path), "poll", "--once", "--all"]) == 0
        assert "1 new articles, 1 entries not stored (see sources list)" in capsys.readouterr().out
        assert main(["--config", str(cfg_path), "poll", "--once", "--all"]) == 0  # unchanged: nothing read
        assert "not stored" not in capsys.readouterr().out
        assert main(["--config", str(cfg_path), "sources", "list"]) == 0  # the document still has the problem
        assert "  warning: 1 of 2 entries not stored" in capsys.readouterr().out
        server.add("/f", Reply(body=body.replace(b"e1", b"e2")))
        assert main(["--config", str(cfg_path), "poll", "--once", "--all", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
    assert (summary["articles_stored"], summary["entries_skipped"], summary["failed"]) == (0, 1, 0)
    assert main(["--config", str(cfg_path), "sources", "list"]) == 0
    assert "  warning: 1 of 2 entries not stored: entry has neither a title nor any text (1)" in capsys.readouterr().out


def test_an_entry_with_its_stored_digest_is_not_normalized_again(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.normalize.article as article

    cfg = config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "http://127.0.0.1:9/f")
    matcher = build_matcher(cfg)
    body = feed([("g1", RETURNEES), ("g2", RETURNEES + " More."), ("g3", "Weather: rain in the north.")])
    fetch = FetchResult(source_id=1, url="http://127.0.0.1:9/f", status=200, fetched_at=datetime.now(UTC), body=body)
    full = {a.data.identity: a for a in process_feed(fetch, cfg, matcher).articles}
    assert all(a.data.entry_digest for a in full.values())
    normalized: list[str | None] = []
    real = article.normalize_entry

    def counting(entry, **kwargs):  # type: ignore[no-untyped-def]
        normalized.append(entry.guid)
        return real(entry, **kwargs)

    monkeypatch.setattr(article, "normalize_entry", counting)

    def stored(source_id: int, identities: Sequence[str]) -> Mapping[str, StoredEntry]:
        g1, g2 = full[G + "g1"].data, full[G + "g2"].data
        return {G + "g1": StoredEntry(g1.content_hash, g1.entry_digest),  # as stored: skipped unread
                G + "g2": StoredEntry(g2.content_hash, "another digest")}  # raw fields changed, content not

    quick = process_feed(fetch, cfg, matcher, stored)
    assert normalized == ["https://ex.example/g2", "https://ex.example/g3"]  # g1 never normalized
    assert quick.unchanged == 2 and quick.digests == ()  # g2: same content; a digest it has is kept
    assert quick.articles == (full[G + "g3"],)


def test_the_digest_covers_what_normalization_reads_and_nothing_else(tmp_path: Path) -> None:
    from pipeline.normalize.article import entry_digest
    from pipeline.normalize.settings import NormalizeSettings
    from pipeline.types import ParsedEntry

    base = ParsedEntry(guid="g", link="https://ex.example/a", title="T", summary="S", content="C",
                       published=datetime(2026, 3, 1, tzinfo=UTC), updated=None, author="A")
    digest = entry_digest(base, "https://ex.example/feed")
    changed = [replace(base, guid="h"), replace(base, guid=None), replace(base, link="https://ex.example/b"),
               replace(base, title="T2"), replace(base, summary=None), replace(base, summary=""),
               replace(base, content="C2"), replace(base, title="TS", summary="")]  # no run-together
    digests = [entry_digest(e, "https://ex.example/feed") for e in changed]
    assert digest not in digests and len(set(digests)) == len(digests)
    assert entry_digest(base, "https://moved.example/feed") == digest  # an absolute link: the feed may move
    relative = replace(base, link="/a")
    assert entry_digest(relative, "https://moved.example/feed") != entry_digest(relative, "https://ex.example/feed")
    assert entry_digest(base, "https://ex.example/feed", NormalizeSettings(tracking_params=("ref",))) != digest
    # Dates and author do not make a different article: a re-dated entry is unchanged, as its hash says.
    same = replace(base, published=datetime(2026, 3, 2, tzinfo=UTC), updated=datetime(2026, 3, 2, tzinfo=UTC),
                   author="B")
    assert entry_digest(same, "https://ex.example/feed") == digest


def test_polls_store_digests_and_fill_those_of_older_rows(tmp_path: Path, db_url: str) -> None:
    from sqlalchemy import update

    items = [(f"g{i}", f"{RETURNEES} Item {i}.") for i in range(6)]
    with served(tmp_path, db_url, feed(items)) as (server, cfg, db):
        assert poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=1).articles_stored == 6
        with db.session() as s:
            first = {i: d for i, d in s.execute(select(Article.identity, Article.entry_digest))}
            assert len(first) == 6 and all(first.values())
            s.execute(update(Article).values(entry_digest=None))  # as rows stored before revision 0002
            s.execute(update(Source).values(item_digests=None))  # and sources polled before 0003
        server.add("/f", Reply(body=feed([*items, ("n1", RETURNEES)])))
        s2 = poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=1)
        assert (s2.articles_stored, s2.failed) == (1, 0)
        with db.session() as s:
            filled = {i: d for i, d in s.execute(select(Article.identity, Article.entry_digest))}
        assert {i: filled[i] for i in first} == first and filled[G + "n1"]


def test_items_seen_in_the_last_document_are_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.parse.feed as feed_module

    cfg = config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "http://127.0.0.1:9/f")
    matcher = build_matcher(cfg)
    items = [(f"g{i}", f"{RETURNEES} Item {i}.") for i in range(6)]
    empty = b"<item><link>https://ex.example/e1</link></item>"  # never stored: read again every time
    first_body = feed(items).replace(b"</channel>", empty + b"</channel>")
    fetch = FetchResult(source_id=1, url="http://127.0.0.1:9/f", status=200, fetched_at=datetime.now(UTC),
                        body=first_body, headers={"content-type": "application/rss+xml"})

    def nothing_stored(source_id: int, identities: Sequence[str]) -> Mapping[str, StoredEntry]:
        return {}

    assert process_feed(fetch, cfg, matcher, nothing_stored).item_digests is None  # a first document: no scan
    first = process_feed(replace(fetch, known_items=b""), cfg, matcher, nothing_stored)  # read before, not scanned
    assert first.item_digests is not None and len(first.item_digests) == 6 * 16  # the empty item is left out
    parsed_sizes: list[int] = []
    real = feed_module.parse_feed

    def spy(body: bytes, headers: Mapping[str, str], url: str):  # type: ignore[no-untyped-def]
        parsed_sizes.append(len(body))
        return real(body, headers, url)

    monkeypatch.setattr(feed_module, "parse_feed", spy)
    changed = [*items[1:], ("g6", RETURNEES + " New.")]
    body = feed(changed).replace(b"</channel>", empty + b"</channel>")
    second = process_feed(replace(fetch, body=body, known_items=first.item_digests), cfg, matcher, nothing_stored)
    assert len(parsed_sizes) == 1 and parsed_sizes[0] < len(body) / 3  # the new item and the empty one only
    assert [a.data.identity for a in second.articles] == [G + "g6"] and second.unchanged == 5
    assert second.warning == "1 of 7 entries not stored: entry has neither a title nor any text (1)"
    full = process_feed(replace(fetch, body=body, known_items=b""), cfg, matcher, nothing_stored)  # all parsed
    assert [a for a in full.articles if a.data.identity == G + "g6"] == list(second.articles)
    assert second.item_digests is not None and set(_chunks16(second.item_digests)) == set(_chunks16(full.item_digests))


def _chunks16(data: bytes | None) -> list[bytes]:
    assert data is not None
    return [data[i:i + 16] for i in range(0, len(data), 16)]


def test_polls_parse_only_the_items_a_document_did_not_have_last_time(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.parse.feed as feed_module

    sizes: list[tuple[int, int]] = []
    real = feed_module.parse_feed

    def spy(body: bytes, headers: Mapping[str, str], url: str):  # type: ignore[no-untyped-def]
        sizes.append((len(body), body.count(b"<item>")))
        return real(body, headers, url)

    monkeypatch.setattr(feed_module, "parse_feed", spy)
    items = [(f"g{i}", f"{RETURNEES} Item {i}.") for i in range(8)]
    with served(tmp_path, db_url, feed(items)) as (server, cfg, db):
        stored = [poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=1).articles_stored]
        for n in (8, 9):
            items = [*items[1:], (f"g{n}", f"{RETURNEES} Item {n}.")]
            server.add("/f", Reply(body=feed(items)))
            stored.append(poll_once(cfg, db, build_matcher(cfg), all_sources=True, workers=1).articles_stored)
        with db.session() as s:
            identities = set(s.scalars(select(Article.identity)))
    assert stored == [8, 1, 1] and {G + f"g{i}" for i in range(10)} == identities
    assert [count for _, count in sizes] == [8, 1, 1]  # after the first document, only the new item is read


def test_item_digests_change_with_the_settings_the_versions_and_the_document_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.normalize.article as article
    import pipeline.parse.feed as feed_module

    cfg = config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "http://127.0.0.1:9/f")
    fetch = FetchResult(source_id=1, url="http://127.0.0.1:9/f", status=200, fetched_at=datetime.now(UTC),
                        body=feed([("g1", RETURNEES), ("g2", RETURNEES)]), known_items=b"")

    def digests(f: FetchResult, c: Config) -> bytes | None:
        return process_feed(f, c, build_matcher(c), lambda source_id, identities: {}).item_digests

    base = digests(fetch, cfg)
    assert base is not None and len(base) == 32 and digests(fetch, cfg) == base
    other_settings = cfg.model_copy(update={"normalize": cfg.normalize.model_copy(update={"max_title_chars": 50})})
    assert digests(fetch, other_settings) != base
    assert digests(replace(fetch, url="http://127.0.0.1:9/moved"), cfg) != base
    monkeypatch.setattr(article, "NORMALIZATION_VERSION", article.NORMALIZATION_VERSION + 1)
    assert digests(fetch, cfg) != base
    monkeypatch.undo()
    monkeypatch.setattr(feed_module, "PARSER_VERSION", "feedparser-0/adapter-0")
    assert digests(fetch, cfg) != base
