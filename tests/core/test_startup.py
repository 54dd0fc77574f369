"""What a command costs before it starts: the revision check without Alembic, imports on demand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.errors import StorageError
from pipeline.storage.db import Database
from pipeline.storage.migrate import HEAD_REVISION, check_current, current_revision, head_revision, upgrade

ROOT = Path(__file__).resolve().parents[2]


def test_head_revision_constant_is_alembics_head() -> None:
    """A new migration must update HEAD_REVISION, or every command would refuse the upgraded database."""
    assert head_revision(Database("sqlite://")) == HEAD_REVISION


def test_check_current_names_the_revisions_and_the_fix(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert current_revision(db) is None
        with pytest.raises(StorageError, match=rf"at revision none, code expects {HEAD_REVISION}: "
                                               r"run `pipeline db upgrade`"):
            check_current(db)
        upgrade(db)
        check_current(db)
        assert current_revision(db) == HEAD_REVISION
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
        with pytest.raises(StorageError, match=rf"at revision 0000, code expects {HEAD_REVISION}"):
            check_current(db)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0000b')"))
        with pytest.raises(StorageError, match="several revisions"):
            check_current(db)
    finally:
        db.dispose()


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.split())


HEAVY_PACKAGES = {"alembic", "sqlalchemy", "pydantic", "yaml", "httpx", "ftfy", "feedparser"}


def test_the_parser_imports_nothing_heavy() -> None:
    """``pipeline --help`` and argument errors cost argparse, not the config schema or the database."""
    loaded = _modules_after("from pipeline.cli import build_parser\nbuild_parser().format_help()")
    assert not {m.split(".")[0] for m in loaded} & HEAVY_PACKAGES
    assert not loaded & {"pipeline.config", "pipeline.storage.db", "pipeline.themes.matcher"}


def test_the_revision_check_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    loaded = _modules_after("from pipeline.storage.db import Database\nfrom pipeline.storage.migrate import "
                            f"check_current\ncheck_current(Database({url!r}))")
    assert "pipeline.storage.migrate" in loaded
    assert not any(m == "alembic" or m.startswith("alembic.") for m in loaded)
