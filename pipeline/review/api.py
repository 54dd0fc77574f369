"""The JSON API, /healthz, /metrics and /openapi.json."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.alerts.payload import review_url
from pipeline.errors import InputError, NotFoundError, StorageError
from pipeline.review import data
from pipeline.review.app import ctx_of, error_response, json_response
from pipeline.review.auth import check_bearer
from pipeline.review.openapi import spec
from pipeline.review.views import alert_json, article_json, delivery_json, event_json
from pipeline.storage import alerts as alert_store
from pipeline.storage import review as review_store
from pipeline.storage.sources import list_sources, source_to_dict
from pipeline.timewindows import iso

NOTE_MAX = 4000
ACTOR = "web"  # the token is shared: the trail says the action came through the web


def _limit(request: Request) -> int | None:
    text = request.query_params.get("limit")
    if text is None or text == "":
        return None
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise InputError(f"limit must be a whole number from 1 to 100000, got {text!r}")
    return int(text)


def list_alerts(request: Request) -> Response:
    ctx = ctx_of(request)
    status = data.parse_status(request.query_params.get("status"))
    theme = request.query_params.get("theme") or None
    limit = _limit(request)
    with ctx.db.session() as s:
        alerts = alert_store.list_alerts(s, status=status, theme=theme, limit=limit)
    return json_response([alert_json(a) for a in alerts])


def _detail_json(request: Request, detail: data.AlertDetail) -> dict[str, Any]:
    ctx = ctx_of(request)
    out = alert_json(detail.alert)
    base = ctx.cfg.web.base_url or str(request.base_url)
    out["url"] = review_url(base, detail.alert.id)
    out["events"] = [event_json(e) for e in detail.events]
    out["deliveries"] = [delivery_json(d) for d in detail.deliveries]
    out["top_articles"] = [article_json(a) for a in detail.articles]
    return out


def get_alert(request: Request) -> Response:
    detail = data.alert_detail(ctx_of(request).db, data.parse_id(request.path_params["id"]))
    return json_response(_detail_json(request, detail))


async def _note(request: Request) -> str | None:
    body = await request.body()
    if not body.strip():
        return None
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the body must be JSON like {{\"note\": \"...\"}}: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError('the body must be a JSON object like {"note": "..."}')
    unknown = set(doc) - {"note"}
    if unknown:
        raise InputError(f"unknown field(s) in the body: {', '.join(sorted(unknown))} (only 'note' is accepted)")
    note = doc.get("note")
    if note is None:
        return None
    if not isinstance(note, str):
        raise InputError("note must be a string")
    if len(note) > NOTE_MAX:
        raise InputError(f"note is too long ({len(note)} characters, at most {NOTE_MAX})")
    return note.strip() or None


def _action(action: str) -> Any:
    async def handler(request: Request) -> Response:
        ctx = ctx_of(request)
        verdict = check_bearer(request.headers.get("authorization"), ctx.cfg.web.token)
        if verdict != "ok":
            ctx.metrics.auth_failures.labels(reason=verdict).inc()
            if verdict == "disabled":
                return error_response(request, 403, "review actions are disabled: no token is configured; set "
                                      "web.token in config.yaml (e.g. token: ${PIPELINE_WEB_TOKEN}) and restart")
            return _unauthorized(request, verdict)
        alert_id = data.parse_id(request.path_params["id"])
        note = await _note(request)
        detail = await run_in_threadpool(data.review, ctx.db, alert_id, action, note=note, actor=ACTOR,
                                         now=ctx.clock())
        ctx.metrics.review_actions.labels(action=action).inc()
        return json_response(_detail_json(request, detail))

    handler.__name__ = f"{action}_alert"
    return handler


def _unauthorized(request: Request, verdict: str) -> Response:
    message = ("a token is needed: send 'Authorization: Bearer <web.token>'" if verdict == "missing"
               else "the token is wrong")
    response = error_response(request, 401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="pipeline review"'
    return response


def theme_series(request: Request) -> Response:
    ctx = ctx_of(request)
    theme = request.path_params["id"]
    if not data.theme_known(ctx.db, theme, set(ctx.themes)):
        raise NotFoundError(f"theme {theme!r} is neither configured nor in the database")
    ts = data.theme_series(ctx.db, theme, hours=ctx.window_hours,
                           first_day=data.parse_day(request.query_params.get("from"), "from"),
                           last_day=data.parse_day(request.query_params.get("to"), "to"))
    length = timedelta(hours=ts.window_hours)
    windows = [
        {"window_start": iso(p.window_start), "window_end": iso(p.window_start + length), "x": p.x, "n": p.n,
         "proportion": p.x / p.n if p.n else None, "p0": p.p0, "s_rise": p.s_rise, "s_fall": p.s_fall,
         "sources": src, "raw_x": raw[0], "raw_n": raw[1]}
        for p, src, raw in zip(ts.points, ts.sources, ts.raw, strict=True)
    ]
    return json_response({
        "theme": theme, "label": ctx.themes.get(theme, theme), "window_hours": ts.window_hours,
        "from": iso(ts.first), "to": iso(ts.last_end), "h": ctx.cfg.signals.h, "windows": windows,
        "alerts": [{"id": a.id, "direction": a.direction, "status": a.status, "window_start": iso(a.window_start),
                    "onset": iso(a.onset)} for a in ts.alerts],
    })


def sources(request: Request) -> Response:
    with ctx_of(request).db.session() as s:
        rows = [source_to_dict(r) for r in list_sources(s)]
    return json_response(rows)


def healthz(request: Request) -> Response:
    ctx = ctx_of(request)
    try:
        with ctx.db.session() as s:
            review_store.ping(s)
            last = review_store.last_poll_at(s)
    except StorageError as exc:
        return json_response({"ok": False, "database": False, "error": str(exc), "last_poll_at": None}, 503)
    return json_response({"ok": True, "database": True, "last_poll_at": iso(last), "time": iso(ctx.clock())})


def metrics(request: Request) -> Response:
    body = generate_latest(ctx_of(request).metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def openapi(request: Request) -> Response:
    return json_response(spec())


def routes() -> list[Route]:
    out = [
        Route("/api/alerts", list_alerts, methods=["GET"], name="api_alerts"),
        Route("/api/alerts/{id}", get_alert, methods=["GET"], name="api_alert"),
    ]
    for action in ("ack", "confirm", "dismiss"):
        out.append(Route(f"/api/alerts/{{id}}/{action}", _action(action), methods=["POST"], name=f"api_{action}"))
    out += [
        Route("/api/themes/{id}/series", theme_series, methods=["GET"], name="api_series"),
        Route("/api/sources", sources, methods=["GET"], name="api_sources"),
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/metrics", metrics, methods=["GET"], name="metrics"),
        Route("/openapi.json", openapi, methods=["GET"], name="openapi"),
    ]
    return out
