"""Apply the Alembic migrations in ``migrations/`` without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from pipeline.errors import StorageError
from pipeline.storage.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> str:
    """Upgrade the database to ``revision``; returns the revision now current."""
    cfg = alembic_config(db)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return current_revision(db) or ""
    except SQLAlchemyError as exc:
        raise StorageError(f"migration failed on {db.engine.url!r}: {exc}".splitlines()[0]) from exc


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def check_current(db: Database) -> None:
    """Raise StorageError with the fix when the database is not at the head revision."""
    try:
        cur = current_revision(db)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot reach the database at {db.engine.url!r}: {exc}".splitlines()[0]) from exc
    head = head_revision(db)
    if cur != head:
        raise StorageError(
            f"database at {db.engine.url!r} is at revision {cur or 'none'}, code expects {head}: "
            "run `pipeline db upgrade`"
        )
