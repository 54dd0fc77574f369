"""Fixtures for the alert delivery tests: a fresh database on SQLite and PostgreSQL, real local servers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alerts_support import T0, Receiver, SmtpSink

from pipeline.alerts.raising import raise_intent
from pipeline.alerts.settings import AlertSettings
from pipeline.alerts.values import AlertIntent
from pipeline.storage.db import Database
from pipeline.storage.models import Base


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """An empty database with every table (created from the models), on SQLite and on PostgreSQL."""
    database = Database(db_url)
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver that is running."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def down_receiver() -> Iterator[Receiver]:
    """A webhook receiver whose port nothing listens on yet (call ``.start()`` to bring it up)."""
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    s = SmtpSink().start()
    yield s
    s.stop()


RaiseFn = Callable[..., int | None]


@pytest.fixture
def raise_alert(db: Database) -> RaiseFn:
    """Raise an intent with the given settings in its own transaction, as detection would."""

    def run(it: AlertIntent, settings: AlertSettings, now: datetime = T0) -> int | None:
        with db.session() as s:
            return raise_intent(s, it, settings, now=now)

    return run


def make_settings(**values: Any) -> AlertSettings:
    """AlertSettings from plain config values, validated like config.yaml."""
    return AlertSettings.model_validate(values)


@pytest.fixture
def settings_of() -> Callable[..., AlertSettings]:
    return make_settings
