"""HTML pages: the inbox, one alert, one theme's series, source health."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.alerts.values import ALERT_STATUSES
from pipeline.errors import NotFoundError
from pipeline.review import data
from pipeline.review.app import ctx_of, render
from pipeline.review.chart import build_chart
from pipeline.review.views import alert_values, explanation_view
from pipeline.storage import review as review_store
from pipeline.storage.sources import list_sources, source_to_dict


def inbox(request: Request) -> Response:
    ctx = ctx_of(request)
    status = data.parse_status(request.query_params.get("status"))
    theme = request.query_params.get("theme") or None
    alerts, truncated = data.inbox(ctx.db, status=status, theme=theme)
    with ctx.db.session() as s:
        themes = sorted(set(review_store.alert_themes(s)) | set(ctx.themes))
    rows = [{"alert": a, "values": alert_values(a)} for a in alerts]
    return render(request, "inbox.html", {
        "rows": rows, "truncated": truncated, "status": status or "", "theme": theme or "",
        "statuses": ALERT_STATUSES, "themes": themes,
        "open_count": sum(1 for a in alerts if a.status == "open"),
    })


def alert_page(request: Request) -> Response:
    ctx = ctx_of(request)
    detail = data.alert_detail(ctx.db, data.parse_id(request.path_params["id"]))
    return render(request, "alert.html", {
        "a": detail.alert, "values": alert_values(detail.alert), "x": explanation_view(detail.alert),
        "events": detail.events, "deliveries": detail.deliveries, "articles": detail.articles,
    })


def theme_page(request: Request) -> Response:
    ctx = ctx_of(request)
    theme = request.path_params["id"]
    if not data.theme_known(ctx.db, theme, set(ctx.themes)):
        raise NotFoundError(f"theme {theme!r} is neither configured nor in the database")
    composite = next((r for r in ctx.cfg.signals.composites if r.id == theme), None)
    first_day = data.parse_day(request.query_params.get("from"), "from")
    last_day = data.parse_day(request.query_params.get("to"), "to")
    ts = data.theme_series(ctx.db, theme, hours=ctx.window_hours, first_day=first_day, last_day=last_day)
    chart = build_chart(ts.points, data.alert_marks(ts.alerts), ctx.cfg.signals.h)
    recent = [
        {"p": p, "sources": src, "raw": raw}
        for p, src, raw in reversed(list(zip(ts.points, ts.sources, ts.raw, strict=True)))
    ][:60]
    return render(request, "theme.html", {
        "theme": theme, "label": ctx.themes.get(theme, theme), "ts": ts, "chart": chart, "composite": composite,
        "recent": [] if composite else recent,
        "alerts": [{"alert": a, "values": alert_values(a)} for a in reversed(ts.alerts)],
        "h": ctx.cfg.signals.h, "from_day": first_day.isoformat() if first_day else "",
        "to_day": last_day.isoformat() if last_day else "",
    })


def sources_page(request: Request) -> Response:
    ctx = ctx_of(request)
    with ctx.db.session() as s:
        rows = [source_to_dict(r) for r in list_sources(s)]
    counts: dict[str, int] = {}
    for r in rows:
        if r["enabled"]:
            counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
    return render(request, "sources.html", {"sources": rows, "counts": counts})


def routes() -> list[Route]:
    return [
        Route("/", inbox, name="inbox"),
        Route("/alerts/{id}", alert_page, name="alert"),
        Route("/themes/{id}", theme_page, name="theme"),
        Route("/sources", sources_page, name="sources"),
    ]
