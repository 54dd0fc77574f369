"""A fresh ``upgrade head`` equals the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pipeline.storage.db import Database
from pipeline.storage.migrate import current_revision, head_revision, upgrade
from pipeline.storage.models import Base


def test_upgrade_head_matches_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        rev = upgrade(db)
        assert rev == head_revision(db)
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"migrations and models differ: {diff}"
        # Upgrading again is a no-op.
        assert upgrade(db) == rev
        assert current_revision(db) == rev
    finally:
        db.dispose()


def test_migrations_only_grow() -> None:
    """Each revision names the one before it: a single linear history, no edits by branching."""
    from alembic.script import ScriptDirectory

    from pipeline.storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(Database("sqlite://")))
    revs = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    assert revs[-1].down_revision is None
    for r in revs:
        assert r.revision[:4].isdigit(), "revision ids are numbered in order"


def test_upgrading_a_database_with_articles_keeps_them(db_url: str) -> None:
    """0001 -> head on a database holding a source and an article: the rows stay, new columns are empty."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    db = Database(db_url)
    try:
        assert upgrade(db, "0001") == "0001"
        now = datetime(2026, 3, 1, tzinfo=UTC)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO sources (name, url, enabled, status, error_count, entries_stored, "
                              "created_at) VALUES ('s', 'https://ex.example/f', true, 'ok', 0, 1, :t)"), {"t": now})
            source_id = conn.execute(text("SELECT id FROM sources")).scalar_one()
            conn.execute(text("INSERT INTO articles (source_id, identity, title, text, published_at, fetched_at, "
                              "updated_at, date_estimated, content_hash) VALUES (:s, 'guid:a', 'T', 'X', :t, :t, "
                              ":t, false, 'h')"), {"s": source_id, "t": now})
        assert upgrade(db) == head_revision(db)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT identity, content_hash, entry_digest FROM articles")).all()
        assert [tuple(r) for r in rows] == [("guid:a", "h", None)]
    finally:
        db.dispose()
