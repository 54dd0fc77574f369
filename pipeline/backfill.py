"""Backfill: import articles from JSON lines, deduplicated and tagged like polled ones."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.errors import InputError
from pipeline.normalize import normalize_import
from pipeline.storage.articles import ArticleToStore
from pipeline.storage.sources import ensure_import_source
from pipeline.update import store_batch, tagged

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.storage.db import Database
    from pipeline.themes import Matcher

BATCH = 500


@dataclass(slots=True)
class ImportSummary:
    lines: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    clustered: int = 0
    errors: list[str] = field(default_factory=list)  # "FILE:LINE: what is wrong"

    def to_dict(self) -> dict[str, object]:
        return {"lines": self.lines, "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "clustered": self.clustered, "invalid": len(self.errors),
                "errors": self.errors[:100]}


def import_lines(cfg: Config, db: Database, matcher: Matcher, lines: Iterable[str], *, origin: str,
                 now: datetime | None = None, progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import JSON lines; bad lines are reported with their line number and skipped, good ones stored."""
    now = now or datetime.now(UTC)
    summary = ImportSummary()
    source_ids: dict[str, int] = {}
    batch: list[ArticleToStore] = []

    def flush() -> None:
        if not batch:
            return
        with db.session() as s:
            r = store_batch(s, batch, cfg, now=now)
        summary.inserted += r.inserted
        summary.updated += r.updated
        summary.unchanged += r.unchanged
        summary.clustered += r.clustered
        if progress:
            progress(len(batch))
        batch.clear()

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        summary.lines += 1
        try:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
            if not isinstance(obj, dict):
                raise InputError("each line must be a JSON object")
            name = obj.get("source")
            if not isinstance(name, str) or not name.strip():
                raise InputError("'source' must be a non-empty string naming the source")
            name = name.strip()
            if name not in source_ids:
                with db.session() as s:
                    source_ids[name] = ensure_import_source(s, name, now)
            art = normalize_import(obj, source_id=source_ids[name], fetched_at=now, settings=cfg.normalize)
        except InputError as exc:
            summary.errors.append(f"{origin}:{lineno}: {exc}")
            continue
        batch.append(tagged(art, cfg, matcher))
        if len(batch) >= BATCH:
            flush()
    flush()
    return summary
