"""Fixtures for the review web tests: a migrated, seeded database (copied per test) and the app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipeline.config import Config
from pipeline.review.app import create_app
from pipeline.storage.db import Database
from tests.review.review_support import NOW, TOKEN, Seeded, make_config, migrate, seed


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    """A migrated, seeded database built once; each test works on its own copy of the file."""
    path = tmp_path_factory.mktemp("review-template") / "template.db"
    url = f"sqlite:///{path}"
    database = Database(url)
    migrate(database)
    ids = seed(database, make_config(url))
    with database.engine.connect() as conn:  # fold the WAL into the main file before it is copied
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path, ids


@pytest.fixture
def sqlite_url(tmp_path: Path, template_db: tuple[Path, Seeded]) -> str:
    target = tmp_path / "review.db"
    shutil.copyfile(template_db[0], target)
    return f"sqlite:///{target}"


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    migrate(database)
    yield database
    database.dispose()


@pytest.fixture
def cfg(sqlite_url: str) -> Config:
    return make_config(sqlite_url)


@pytest.fixture
def seeded(template_db: tuple[Path, Seeded]) -> Seeded:
    return template_db[1]


@pytest.fixture
def client(db: Database, cfg: Config, seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(cfg, db, clock=lambda: NOW)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
