"""/metrics: Prometheus text computed from the database at scrape time, parsed with prometheus_client."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from pipeline.service.metrics import build_metrics
from pipeline.storage.db import Database
from tests.review.review_support import NOW, Seeded


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_parse_and_count_what_the_database_holds(client: TestClient, seeded: Seeded) -> None:
    m = scrape(client)
    assert m[("pipeline_database_up", ())] == 1
    assert m[("pipeline_alerts", (("status", "open"),))] == 3
    assert m[("pipeline_alerts", (("status", "acked"),))] == 1
    assert m[("pipeline_alerts", (("status", "dismissed"),))] == 0  # listed even at zero
    assert m[("pipeline_sources", (("status", "ok"),))] == 1
    assert m[("pipeline_sources", (("status", "error"),))] == 1
    assert m[("pipeline_sources", (("status", "new"),))] == 0
    assert m[("pipeline_articles_stored", ())] == 3
    assert m[("pipeline_deliveries", (("status", "pending"),))] == 4  # one channel, four alerts
    assert m[("pipeline_notifications", (("status", "pending"),))] == 0
    assert m[("pipeline_last_poll_timestamp_seconds", ())] == NOW.timestamp() - 600
    assert m[("pipeline_last_window_start_timestamp_seconds", ())] > 0
    assert m[("pipeline_review_actions_total", (("action", "ack"),))] == 0


def test_metrics_follow_the_database_and_count_actions(client: TestClient, seeded: Seeded,
                                                       auth: dict[str, str]) -> None:
    client.post(f"/api/alerts/{seeded.rise}/ack", json={}, headers=auth)
    client.post(f"/api/alerts/{seeded.rise}/ack", json={}, headers={"Authorization": "Bearer nope"})
    client.post(f"/api/alerts/{seeded.rise}/ack", json={})
    m = scrape(client)
    assert m[("pipeline_alerts", (("status", "open"),))] == 2
    assert m[("pipeline_alerts", (("status", "acked"),))] == 2
    assert m[("pipeline_review_actions_total", (("action", "ack"),))] == 1
    assert m[("pipeline_review_auth_failures_total", (("reason", "wrong"),))] == 1
    assert m[("pipeline_review_auth_failures_total", (("reason", "missing"),))] == 1


def test_empty_database_reports_zeros(empty_db: Database) -> None:
    from prometheus_client import generate_latest

    text = generate_latest(build_metrics(empty_db).registry).decode()
    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}
    assert samples["pipeline_database_up"] == 1
    assert samples["pipeline_articles_stored"] == 0
    assert samples["pipeline_last_poll_timestamp_seconds"] == 0
