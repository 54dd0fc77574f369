"""The review read queries (storage/review.py) and the app end to end, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from pipeline.review.app import create_app
from pipeline.storage import review as store
from pipeline.storage.alerts import get_alert
from pipeline.storage.db import Database
from tests.review.review_support import ALERT_DAY, FIRST_DAY, NOW, TOKEN, Seeded, make_config, migrate, seed


@pytest.fixture
def world(db_url: str) -> Iterator[tuple[Database, str, Seeded]]:
    database = Database(db_url)
    migrate(database)
    ids = seed(database, make_config(db_url))
    yield database, db_url, ids
    database.dispose()


def test_read_queries(world: tuple[Database, str, Seeded]) -> None:
    db, _, ids = world
    with db.session() as s:
        store.ping(s)
        assert store.last_poll_at(s) == NOW.replace(minute=20)
        assert store.alert_themes(s) == ["new_phase", "propaganda_collapse", "returning_fighters"]
        assert store.theme_has_data(s, "returning_fighters") and store.theme_has_data(s, "new_phase")
        assert not store.theme_has_data(s, "nothing")
        assert store.window_span(s) == (FIRST_DAY, ALERT_DAY)
        snap = store.metrics_snapshot(s)
        rise = get_alert(s, ids.rise)
        found = store.evidence_articles(s, ["returning_fighters"], window_start=rise.window_start,
                                        window_end=rise.window_end, limit=10)
        assert [a.title for a in found].count("Ministers debate policy") == 1 and len(found) == 2
        assert all(a.evidence and a.theme == "returning_fighters" for a in found)
        chosen = [a.id for a in reversed(found)]
        by_id = store.evidence_articles(s, ["returning_fighters"], window_start=rise.window_start,
                                        window_end=rise.window_end, limit=10, article_ids=chosen)
        assert [a.id for a in by_id] == chosen
        assert store.evidence_articles(s, ["returning_fighters"], window_start=rise.window_start,
                                       window_end=rise.window_end, limit=1)[0].id == found[0].id
    assert snap.sources_by_status == {"ok": 1, "error": 1}
    assert snap.sources_enabled == 2 and snap.sources_disabled == 0
    assert snap.articles == 3
    assert snap.alerts_by_status == {"open": 3, "acked": 1}
    assert snap.deliveries_by_status == {"pending": 4}
    assert snap.last_window_start == ALERT_DAY


def test_app_end_to_end(world: tuple[Database, str, Seeded]) -> None:
    db, url, ids = world
    with TestClient(create_app(make_config(url), db, clock=lambda: NOW)) as c:
        for path in ("/", f"/alerts/{ids.rise}", "/themes/returning_fighters", "/sources", "/api/alerts",
                     f"/api/alerts/{ids.rise}", "/api/themes/returning_fighters/series", "/api/sources", "/healthz",
                     "/metrics", "/openapi.json"):
            assert c.get(path).status_code == 200, path
        r = c.post(f"/api/alerts/{ids.rise}/confirm", json={"note": "real"},
                   headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["status"] == "confirmed"
    with db.session() as s:
        assert get_alert(s, ids.rise).status == "confirmed"
