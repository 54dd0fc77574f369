"""What every command handler shares: lazily loaded config and database, output helpers.

The CLI imports the config schema (pydantic and every settings module), SQLAlchemy and the
themes only when a command first asks for them: ``pipeline --help`` and a bad argument cost
no more than argparse.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from pipeline.errors import InputError, PipelineError
from pipeline.timewindows import iso

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.storage.db import Database
    from pipeline.themes import Matcher


class CommandFailed(PipelineError):
    """A command ran but must exit non-zero with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Context:
    """Per-invocation state: the config and the database, each opened on first use."""

    def __init__(self, config_arg: str | None) -> None:
        self.config_arg = config_arg
        self._config: Config | None = None
        self._db: Database | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from pipeline.config import load_config

            self._config = load_config(self.config_arg)
        return self._config

    @property
    def db(self) -> Database:
        if self._db is None:
            from pipeline.storage.db import Database

            self._db = Database(self.config.database.url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def print_json(value: Any) -> None:
    """Write JSON to stdout (and nothing else there)."""
    json.dump(value, sys.stdout, default=_default, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")



def parse_day(text: str, *, what: str) -> date:
    """An ISO 8601 date (or datetime, whose day is taken) from the command line."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError as exc:
        raise InputError(f"{what}: not an ISO 8601 date: {text!r}") from exc


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def migrated_db(ctx: Context) -> Database:
    """The database, after checking it is at the head revision (else a clear error)."""
    from pipeline.storage.migrate import check_current

    db = ctx.db
    check_current(db)
    return db


def compiled_matcher(ctx: Context) -> Matcher:
    """The configured themes, compiled once."""
    from pipeline.config import build_matcher

    return build_matcher(ctx.config)


def progress_bar(total: int | None, desc: str, *, enabled: bool = True):  # type: ignore[no-untyped-def]
    """A tqdm bar on stderr (never stdout), shown only on a terminal."""
    from tqdm import tqdm

    # No monitor thread: poll forks its worker processes after the bar exists, and forking a process
    # that runs other threads can hand a held lock to the children.
    tqdm.monitor_interval = 0
    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not (enabled and sys.stderr.isatty()),
                unit="feed" if desc == "poll" else "it", leave=False)
