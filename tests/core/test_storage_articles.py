"""Article storage on real SQLite and PostgreSQL: exact dedup, updates, story clusters, window counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.normalize import band_keys, content_hash, is_near_duplicate, signature
from pipeline.storage.articles import ArticleToStore, band_ints, store_articles
from pipeline.storage.db import Database
from pipeline.storage.signals import TOTAL, counts_between, dirty_windows, refresh_window
from pipeline.storage.sources import ensure_import_source
from pipeline.timewindows import window_start
from pipeline.types import ArticleData, Evidence, ThemeHit

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)
STORY = (
    "The head of the UN Counter-Terrorism Office told the Security Council that the fight against the "
    "Islamic State was entering a new phase, as the group no longer focuses on capturing and retaining "
    "territories and its fighters return to their home countries or move on to other regions. "
    "He said member states must share information on returning foreign terrorist fighters and improve "
    "their prosecution and rehabilitation programmes, while the group's propaganda output has collapsed."
)
OTHER = (
    "Heavy snow closed schools across the northern provinces on Tuesday, and the national weather "
    "service warned of more storms later in the week, with road and rail travel disrupted in many "
    "areas and thousands of homes left without power after lines came down in high winds overnight."
)


def art(source_id: int, ident: str, text: str, *, title: str = "t", url: str | None = None,
        when: datetime = NOW) -> ArticleData:
    return ArticleData(source_id=source_id, identity=ident, url=url, title=title, text=text, published_at=when,
                       fetched_at=NOW, content_hash=content_hash(title, text), shingle_signature=signature(text))


def item(a: ArticleData, themes: tuple[str, ...] = ()) -> ArticleToStore:
    hits = tuple(ThemeHit(theme=t, score=1.0, evidence=(Evidence(0, 3, "x", "snip"),), version="v1") for t in themes)
    return ArticleToStore(data=a, hits=hits, band_keys=tuple(band_ints(band_keys(a.shingle_signature))))


def store(db: Database, items: list[ArticleToStore]):  # type: ignore[no-untyped-def]
    with db.session() as s:
        return store_articles(s, items, now=NOW, window_of=lambda t: window_start(t, 24),
                              similar=lambda a, b: is_near_duplicate(tuple(a), tuple(b), 0.5))


def sources(db: Database, *names: str) -> list[int]:
    with db.session() as s:
        return [ensure_import_source(s, n, NOW) for n in names]


def test_same_identity_is_stored_once_and_updates_in_place(migrated_db: Database) -> None:
    (a,) = sources(migrated_db, "A")
    r1 = store(migrated_db, [item(art(a, "guid:1", STORY))])
    r2 = store(migrated_db, [item(art(a, "guid:1", STORY))])
    assert (r1.inserted, r2.inserted, r2.unchanged) == (1, 0, 1)
    r3 = store(migrated_db, [item(art(a, "guid:1", STORY + " Updated with a new paragraph."))])
    assert (r3.inserted, r3.updated) == (0, 1)
    assert r3.article_ids == r1.article_ids


def test_changed_guid_with_same_url_updates(migrated_db: Database) -> None:
    (a,) = sources(migrated_db, "A")
    store(migrated_db, [item(art(a, "guid:1", STORY, url="https://x.example/a"))])
    r = store(migrated_db, [item(art(a, "guid:2", STORY, url="https://x.example/a"))])
    assert (r.inserted, r.updated) == (0, 1)


def test_syndicated_copy_joins_the_story_cluster_and_counts_once(migrated_db: Database) -> None:
    tass, apa, other = sources(migrated_db, "TASS", "APA", "Other")
    copy = "APA - " + STORY + " (c) APA-OTS, all rights reserved."
    store(migrated_db, [item(art(tass, "guid:t1", STORY, title="UN: new phase"), ("returning_fighters",))])
    r = store(migrated_db, [item(art(apa, "guid:a1", copy, title="Fight against IS enters new phase"),
                                 ("returning_fighters",)),
                            item(art(other, "guid:o1", OTHER, title="Snow"))])
    assert r.inserted == 2 and r.clustered == 1
    w = window_start(NOW, 24)
    with migrated_db.session() as s:
        assert w in dirty_windows(s)
        refresh_window(s, w, 24, NOW)
        assert dirty_windows(s) == []
        counts = counts_between(s, ["returning_fighters", "territorial_focus"], w, w + timedelta(days=1), 24)
    rf = counts["returning_fighters"][0]
    assert (rf.x, rf.raw_x, rf.n, rf.raw_n, rf.sources) == (1, 2, 2, 3, 2)
    assert counts["territorial_focus"][0].x == 0 and counts["territorial_focus"][0].n == 2


def test_copies_within_one_batch_cluster_too(migrated_db: Database) -> None:
    a, b = sources(migrated_db, "A", "B")
    r = store(migrated_db, [item(art(a, "guid:1", STORY)), item(art(b, "guid:2", "Wire: " + STORY))])
    assert r.inserted == 2 and r.clustered == 1


def test_unrelated_articles_do_not_cluster(migrated_db: Database) -> None:
    a, b = sources(migrated_db, "A", "B")
    r = store(migrated_db, [item(art(a, "guid:1", STORY)), item(art(b, "guid:2", OTHER))])
    assert r.clustered == 0


def test_window_totals_row(migrated_db: Database) -> None:
    (a,) = sources(migrated_db, "A")
    store(migrated_db, [item(art(a, f"guid:{i}", OTHER + f" item {i} " * 30, when=NOW + timedelta(hours=i)))
                        for i in range(3)])
    w = window_start(NOW, 24)
    with migrated_db.session() as s:
        for win in dirty_windows(s):
            refresh_window(s, win, 24, NOW)
        c = counts_between(s, [TOTAL], w, w + timedelta(days=1), 24)[TOTAL][0]
    assert c.n >= 1 and c.raw_n == 3


def test_distinct_entries_sharing_a_link_do_not_overwrite_each_other(migrated_db: Database) -> None:
    (a,) = sources(migrated_db, "A")
    link = "https://x.example/live-blog"
    store(migrated_db, [item(art(a, "guid:1", STORY, url=link))])
    r = store(migrated_db, [item(art(a, "guid:1", STORY, url=link)), item(art(a, "guid:2", OTHER, url=link))])
    assert (r.inserted, r.unchanged, r.updated) == (1, 1, 0)
    again = store(migrated_db, [item(art(a, "guid:1", STORY, url=link)), item(art(a, "guid:2", OTHER, url=link))])
    assert (again.inserted, again.unchanged, again.updated) == (0, 2, 0)


def test_article_stored_during_a_recount_keeps_its_window_dirty(migrated_db: Database) -> None:
    """A poll storing into a window while detection recounts it must not be lost (found in review)."""
    from sqlalchemy import event

    (a,) = sources(migrated_db, "A")
    store(migrated_db, [item(art(a, "guid:1", STORY))])
    w = window_start(NOW, 24)
    fired = []

    def concurrent_poll(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if not fired and statement.lstrip().upper().startswith("SELECT") and "dirty_windows.generation" in statement:
            fired.append(True)
            store(migrated_db, [item(art(a, "guid:2", OTHER))])  # another connection, committed

    event.listen(migrated_db.engine, "after_cursor_execute", concurrent_poll)
    try:
        with migrated_db.session() as s:
            refresh_window(s, w, 24, NOW)
    finally:
        event.remove(migrated_db.engine, "after_cursor_execute", concurrent_poll)
    assert fired
    with migrated_db.session() as s:
        assert w in dirty_windows(s)  # the late article's mark survived the recount
        refresh_window(s, w, 24, NOW)
        assert counts_between(s, [TOTAL], w, w + timedelta(days=1), 24)[TOTAL][0].raw_n == 2
        assert dirty_windows(s) == []


def test_band_keys_follow_the_configured_bands(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.config import load_config
    from pipeline.update import tagged

    p = tmp_path / "c.yaml"
    p.write_text("database:\n  url: sqlite:///x.db\nsources: []\nthemes: []\nnormalize:\n  bands: 16\n")
    cfg = load_config(p)

    class NoThemes:
        def match(self, text: str, title: str = "") -> list[ThemeHit]:
            return []

    item = tagged(art(1, "guid:1", STORY), cfg, NoThemes())  # type: ignore[arg-type]
    assert len(item.band_keys) == 16
