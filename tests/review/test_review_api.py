"""The JSON API: listing, detail, review actions with the bearer token, series, sources, health, OpenAPI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from pipeline.alerts.payload import alert_as_dict
from pipeline.cli.common import print_json
from pipeline.config import Config
from pipeline.review.app import create_app
from pipeline.storage.alerts import alert_events, get_alert, list_alerts
from pipeline.storage.db import Database
from pipeline.storage.sources import list_sources, source_to_dict
from tests.review.review_support import NOW, TOKEN, Seeded, make_config


def cli_json(value: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """What the CLI's ``--json`` output of ``value`` is, read back."""
    print_json(value)
    return json.loads(capsys.readouterr().out)


def test_api_alerts_are_the_cli_objects(client: TestClient, db: Database, seeded: Seeded,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with db.session() as s:
        expected = cli_json([alert_as_dict(a) for a in list_alerts(s)], capsys)
    r = client.get("/api/alerts")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == expected
    assert {a["id"] for a in r.json()} == {seeded.rise, seeded.fall, seeded.sparse, seeded.composite}
    first = r.json()[0]
    for key in ("id", "theme", "direction", "window_start", "window_end", "observed", "expected", "status"):
        assert key in first
    assert first["window_start"].endswith("Z")


def test_api_alerts_filters(client: TestClient, seeded: Seeded) -> None:
    assert [a["id"] for a in client.get("/api/alerts?status=acked").json()] == [seeded.fall]
    assert {a["id"] for a in client.get("/api/alerts", params={"status": "open"}).json()} == {
        seeded.rise, seeded.sparse, seeded.composite}
    assert {a["id"] for a in client.get("/api/alerts?theme=returning_fighters").json()} == {seeded.rise, seeded.fall}
    assert client.get("/api/alerts?theme=nothing").json() == []
    assert len(client.get("/api/alerts?limit=2").json()) == 2


@pytest.mark.parametrize("query", ["status=bogus", "limit=0", "limit=x"])
def test_api_alerts_bad_query_is_400(client: TestClient, query: str) -> None:
    r = client.get(f"/api/alerts?{query}")
    assert r.status_code == 400
    assert r.json()["status"] == 400
    assert r.json()["error"]


def test_api_alert_detail(client: TestClient, seeded: Seeded) -> None:
    r = client.get(f"/api/alerts/{seeded.rise}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == seeded.rise and body["status"] == "open" and body["direction"] == "rise"
    assert body["url"].endswith(f"/alerts/{seeded.rise}")
    assert [e["action"] for e in body["events"]] == ["raised"]
    assert [d["channel"] for d in body["deliveries"]] == ["ops"]
    assert body["explanation"]["s"] == 6.25
    # One story per cluster: the syndicated copy of "Ministers debate policy" is listed once.
    titles = [a["title"] for a in body["top_articles"]]
    assert titles.count("Ministers debate policy") == 1 and len(titles) == 2
    hostile = next(a for a in body["top_articles"] if a["title"].startswith("<script>"))
    assert hostile["title_marks"] == ["Returned fighters"]
    assert hostile["snippets"][0]["marks"] == ["fighters returned", "returning fighters"]
    assert hostile["snippets"][0]["terms"] == ["returning fighters"]


@pytest.mark.parametrize("path", ["/api/alerts/9999", "/api/alerts/abc", "/api/alerts/99999999999999999999999"])
def test_api_unknown_alert_is_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert "does not exist" in r.json()["error"]


def _status(db: Database, alert_id: int) -> tuple[str, list[str]]:
    with db.session() as s:
        return get_alert(s, alert_id).status, [e.action for e in alert_events(s, alert_id)]


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer"},
])
def test_action_without_the_right_token_is_401_and_changes_nothing(
        client: TestClient, db: Database, seeded: Seeded, headers: dict[str, str]) -> None:
    before = _status(db, seeded.rise)
    r = client.post(f"/api/alerts/{seeded.rise}/ack", json={"note": "x"}, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"]
    assert _status(db, seeded.rise) == before == ("open", ["raised"])


@pytest.mark.parametrize("action, status", [("ack", "acked"), ("confirm", "confirmed"), ("dismiss", "dismissed")])
def test_action_with_token_changes_status_and_appends_trail(
        client: TestClient, db: Database, seeded: Seeded, auth: dict[str, str], action: str, status: str) -> None:
    r = client.post(f"/api/alerts/{seeded.rise}/{action}", json={"note": "  checked the wires  "}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == status
    assert r.json()["events"][-1] == {"action": action, "note": "checked the wires", "actor": "web",
                                      "at": NOW.isoformat().replace("+00:00", "Z")}
    with db.session() as s:
        assert get_alert(s, seeded.rise).status == status
        trail = alert_events(s, seeded.rise)
    assert [e.action for e in trail] == ["raised", action]
    assert trail[-1].note == "checked the wires" and trail[-1].actor == "web"


def test_action_without_body_or_note(client: TestClient, db: Database, seeded: Seeded, auth: dict[str, str]) -> None:
    assert client.post(f"/api/alerts/{seeded.rise}/ack", headers=auth).status_code == 200
    assert client.post(f"/api/alerts/{seeded.rise}/confirm", json={}, headers=auth).status_code == 200
    with db.session() as s:
        trail = alert_events(s, seeded.rise)
    assert [(e.action, e.note) for e in trail] == [("raised", None), ("ack", None), ("confirm", None)]


@pytest.mark.parametrize("body", ['{"note": 3}', "not json", '["note"]', '{"note": "x", "status": "open"}',
                                  json.dumps({"note": "x" * 4001})])
def test_action_bad_body_is_400(client: TestClient, db: Database, seeded: Seeded, auth: dict[str, str],
                                body: str) -> None:
    r = client.post(f"/api/alerts/{seeded.rise}/ack", content=body,
                    headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert _status(db, seeded.rise) == ("open", ["raised"])


def test_action_on_unknown_alert_is_404(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post("/api/alerts/9999/ack", json={}, headers=auth)
    assert r.status_code == 404
    assert "9999" in r.json()["error"]


def test_unknown_action_and_wrong_method(client: TestClient, seeded: Seeded, auth: dict[str, str]) -> None:
    assert client.post(f"/api/alerts/{seeded.rise}/escalate", headers=auth).status_code == 404
    r = client.get(f"/api/alerts/{seeded.rise}/ack")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["status"] == 405


@pytest.mark.parametrize("token", [None, "", "   "])
def test_actions_refused_with_403_when_no_token_is_configured(
        db: Database, sqlite_url: str, seeded: Seeded, token: str | None) -> None:
    app = create_app(make_config(sqlite_url, token=token), db, clock=lambda: NOW)
    with TestClient(app) as c:
        r = c.post(f"/api/alerts/{seeded.rise}/ack", json={}, headers={"Authorization": "Bearer anything"})
        assert r.status_code == 403
        assert "web.token" in r.json()["error"]
        # Reading still works.
        assert c.get("/api/alerts").status_code == 200
    assert _status(db, seeded.rise) == ("open", ["raised"])


def test_series(client: TestClient, seeded: Seeded, cfg: Config) -> None:
    r = client.get("/api/themes/returning_fighters/series")
    assert r.status_code == 200
    body = r.json()
    assert body["theme"] == "returning_fighters" and body["label"] == "Returning fighters"
    assert body["window_hours"] == 24 and body["h"] == cfg.signals.h
    windows = body["windows"]
    assert len(windows) == 31  # 2024-04-01 .. 2024-05-01, every window present
    assert windows[0]["window_start"] == "2024-04-01T00:00:00Z"
    last = windows[-1]
    assert last == {"window_start": "2024-05-01T00:00:00Z", "window_end": "2024-05-02T00:00:00Z", "x": 12, "n": 100,
                    "proportion": 0.12, "p0": 0.03, "s_rise": 6.25, "s_fall": 0.4, "sources": 4, "raw_x": 13,
                    "raw_n": 130}
    assert [(a["id"], a["direction"]) for a in body["alerts"]] == [(seeded.fall, "fall"), (seeded.rise, "rise")]


def test_series_period(client: TestClient) -> None:
    body = client.get("/api/themes/returning_fighters/series?from=2024-04-28&to=2024-05-03").json()
    starts = [w["window_start"][:10] for w in body["windows"]]
    # Both days included; windows without counts are there with zeros.
    assert starts == ["2024-04-28", "2024-04-29", "2024-04-30", "2024-05-01", "2024-05-02", "2024-05-03"]
    assert body["windows"][-1]["n"] == 0 and body["windows"][-1]["proportion"] is None
    assert [a["window_start"][:10] for a in body["alerts"]] == ["2024-05-01"]


@pytest.mark.parametrize("query", ["from=yesterday", "from=2024-05-02&to=2024-05-01", "from=1990-01-01&to=2024-01-01"])
def test_series_bad_period_is_400(client: TestClient, query: str) -> None:
    assert client.get(f"/api/themes/returning_fighters/series?{query}").status_code == 400


def test_series_unknown_theme_is_404(client: TestClient) -> None:
    r = client.get("/api/themes/no_such_theme/series")
    assert r.status_code == 404
    assert "no_such_theme" in r.json()["error"]


def test_series_of_a_configured_theme_without_data(client: TestClient) -> None:
    body = client.get("/api/themes/propaganda_collapse/series").json()
    assert all(w["x"] == 0 for w in body["windows"])
    assert len(body["alerts"]) == 1


def test_sources_are_the_cli_objects(client: TestClient, db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with db.session() as s:
        expected = cli_json([source_to_dict(r) for r in list_sources(s)], capsys)
    body = client.get("/api/sources").json()
    assert body == expected
    wire_b = next(x for x in body if x["name"] == "Wire B")
    assert wire_b["status"] == "error" and wire_b["error_count"] == 1 and wire_b["last_error"].startswith("<b>")
    for key in ("name", "url", "status", "error_count", "last_error", "last_polled_at", "next_poll_at"):
        assert key in wire_b


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "database": True, "last_poll_at": "2024-05-02T09:20:00Z",
                        "time": "2024-05-02T09:30:00Z"}


def test_healthz_and_api_when_the_database_is_down(cfg: Config) -> None:
    down = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with TestClient(create_app(cfg, down)) as c:
        r = c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["ok"] is False and r.json()["database"] is False
        assert c.get("/api/alerts").status_code == 503
        assert c.get("/").status_code == 503
        metrics = c.get("/metrics")
        assert metrics.status_code == 200
        assert re.search(r"^pipeline_database_up 0\.0$", metrics.text, re.M)
    down.dispose()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [
            r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_openapi_document(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.text)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    paths = doc["paths"]
    for path in ("/", "/alerts/{id}", "/themes/{id}", "/sources", "/healthz", "/metrics", "/api/alerts",
                 "/api/alerts/{id}", "/api/alerts/{id}/ack", "/api/alerts/{id}/confirm", "/api/alerts/{id}/dismiss",
                 "/api/themes/{id}/series", "/api/sources", "/openapi.json"):
        assert path in paths, path
    # Every route the app serves is described, with the right method.
    app_routes = {(route.path, m) for route in client.app.routes  # type: ignore[attr-defined]
                  for m in (getattr(route, "methods", None) or ()) if m != "HEAD"}
    described = {(p, m.upper()) for p, ops in paths.items() for m in ops}
    assert app_routes <= described
    for action in ("ack", "confirm", "dismiss"):
        op = paths[f"/api/alerts/{{id}}/{action}"]["post"]
        assert op["security"] == [{"bearerToken": []}]
        assert {"200", "401", "403", "404"} <= set(op["responses"])
    # Every operation has responses; every path parameter is declared; every $ref resolves.
    for path, ops in paths.items():
        for op in ops.values():
            assert op["responses"]
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict)
    assert doc["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer", "description": "the configured web.token"}
