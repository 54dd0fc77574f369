"""Re-apply changed theme definitions to stored articles, then mark their windows for recount."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.storage.articles import articles_for_retag, mark_dirty, replace_hits
from pipeline.timewindows import window_start

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.storage.db import Database
    from pipeline.themes import Matcher

PAGE = 1000


def retag(cfg: Config, db: Database, matcher: Matcher, *, since: datetime, force: bool = False) -> dict[str, Any]:
    """Re-match every article published since ``since``; rows change only where the result changed.

    An article's hits are rewritten when a theme it carries has another version now, or when the set of
    themes or their scores differ (so a definition change that adds or removes hits is applied).
    """
    now = datetime.now(UTC)
    current = {t.id: t.version for t in matcher.themes}
    seen = changed = 0
    windows: set[datetime] = set()
    after = 0
    while True:
        with db.session() as s:
            page = articles_for_retag(s, since=since, after_id=after, limit=PAGE)
            if not page:
                break
            for aid, title, text, published, versions in page:
                seen += 1
                hits = matcher.match(text, title)
                new = {h.theme: h.version for h in hits}
                if force or new != versions or any(current.get(t) != v for t, v in versions.items()):
                    replace_hits(s, aid, hits)
                    if new.keys() != versions.keys() or force:
                        windows.add(window_start(published, cfg.signals.window_hours))
                    changed += 1
            mark_dirty(s, windows, now)
            after = page[-1][0]
    return {"articles": seen, "changed": changed, "windows": len(windows)}
