"""Apply the Alembic migrations in ``migrations/`` without an alembic.ini.

Only ``upgrade`` (and the tests) need Alembic, so it is imported there: every other command
checks the revision with one query of ``alembic_version`` against :data:`HEAD_REVISION`
(importing Alembic alone costs a command about 0.1 s of CPU at start).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.errors import StorageError
from pipeline.storage.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

#: The newest revision in ``migrations/versions``: a new migration must update it (a test compares it with
#: the head Alembic computes from the scripts).
HEAD_REVISION = "0003"

_VERSION_TABLE = "alembic_version"


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> str:
    """Upgrade the database to ``revision``; returns the revision now current."""
    from alembic import command

    cfg = alembic_config(db)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return current_revision(db) or ""
    except SQLAlchemyError as exc:
        raise StorageError(f"migration failed on {db.engine.url!r}: {exc}".splitlines()[0]) from exc


def current_revision(db: Database) -> str | None:
    """The revision stored in the database (None before the first upgrade), read as Alembic does."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table(_VERSION_TABLE):
            return None
        heads = conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars().all()
    if len(heads) > 1:
        raise StorageError(f"database at {db.engine.url!r} records several revisions ({', '.join(heads)}); "
                           "this project's migrations are linear")
    return heads[0] if heads else None


def head_revision(db: Database) -> str | None:
    """The head revision as Alembic computes it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def check_current(db: Database) -> None:
    """Raise StorageError with the fix when the database is not at the head revision."""
    try:
        cur = current_revision(db)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot reach the database at {db.engine.url!r}: {exc}".splitlines()[0]) from exc
    if cur != HEAD_REVISION:
        raise StorageError(
            f"database at {db.engine.url!r} is at revision {cur or 'none'}, code expects {HEAD_REVISION}: "
            "run `pipeline db upgrade`"
        )
