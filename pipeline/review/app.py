"""The analysts' review page and JSON API: ``create_app(cfg, db)`` builds the Starlette application.

Reading needs no login (the service binds to 127.0.0.1 by default); every review action needs
``Authorization: Bearer <web.token>``. Pages are server-rendered with Jinja2 (autoescaped: article titles
are hostile input) under a strict Content-Security-Policy; the only script is ``static/review.js``, which
sends the review actions to the API with the token the analyst typed (kept in sessionStorage, per tab).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.alerts.payload import json_safe
from pipeline.config import Config, load_theme_set
from pipeline.errors import InputError, NotFoundError, PipelineError, StorageError
from pipeline.review import format as fmt
from pipeline.review.auth import configured_token
from pipeline.service.metrics import WebMetrics, build_metrics
from pipeline.storage.db import Database

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# Everything comes from this origin; no inline script or style, no framing.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
JSON_PREFIXES = ("/api/", "/healthz", "/metrics", "/openapi.json")


@dataclass(frozen=True, slots=True)
class ReviewContext:
    """Everything a handler needs, built once per application."""

    cfg: Config
    db: Database
    templates: Jinja2Templates
    metrics: WebMetrics
    themes: dict[str, str]  # configured theme and composite rule ids -> label
    clock: Callable[[], datetime]

    @property
    def window_hours(self) -> float:
        return float(self.cfg.signals.window_hours)


def ctx_of(request: Request) -> ReviewContext:
    ctx: ReviewContext = request.app.state.review
    return ctx


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Strict JSON (ISO 8601 times, no NaN), UTF-8 kept readable."""
    body = json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    ctx = ctx_of(request)
    base = {"now": ctx.clock(), "theme_labels": ctx.themes, "token_configured": _token_set(ctx),
            "nav": name.removesuffix(".html")}
    response: HTMLResponse = ctx.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    return response


def _token_set(ctx: ReviewContext) -> bool:
    return configured_token(ctx.cfg.web.token) is not None


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        return json_response({"error": message, "status": status}, status, headers)
    titles = {400: "Bad request", 401: "Login needed", 403: "Not allowed", 404: "Not found",
              405: "Method not allowed", 503: "Database unavailable"}
    response = render(request, "error.html",
                      {"status": status, "title": titles.get(status, "Error"), "message": message}, status)
    response.headers.update(headers or {})
    return response


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(request, 404, str(exc))


async def _bad_input(request: Request, exc: Exception) -> Response:
    return error_response(request, 400, str(exc))


async def _storage(request: Request, exc: Exception) -> Response:
    log.warning("review: %s %s: %s", request.method, request.url.path, exc)
    return error_response(request, 503, f"the database did not answer: {exc}")


async def _pipeline(request: Request, exc: Exception) -> Response:
    log.exception("review: %s %s failed", request.method, request.url.path)
    return error_response(request, 500, str(exc))


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else f"nothing at {request.url.path}"
    return error_response(request, exc.status_code, str(message), dict(exc.headers or {}))


class SecurityHeaders:
    """Adds the CSP and friends to every response (a plain ASGI middleware: no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _theme_labels(cfg: Config) -> dict[str, str]:
    labels: dict[str, str] = {}
    try:
        for t in load_theme_set(cfg).themes:
            labels[t.id] = t.label or t.id
    except PipelineError as exc:  # the page still serves what the database holds
        log.warning("review: themes not loaded: %s", exc)
    for rule in cfg.signals.composites:
        labels.setdefault(rule.id, rule.label or rule.id)
    return labels


def _templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt.FILTERS)
    return Jinja2Templates(env=env)


def create_app(cfg: Config, db: Database, *, clock: Callable[[], datetime] | None = None) -> Starlette:
    """The review web application over ``db``; ``clock`` (UTC now) is for tests."""
    from pipeline.review import api, pages

    routes: list[BaseRoute] = [
        *pages.routes(),
        *api.routes(),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            NotFoundError: _not_found,
            InputError: _bad_input,
            StorageError: _storage,
            PipelineError: _pipeline,
            HTTPException: _http,
        },
    )
    app.add_middleware(SecurityHeaders)
    app.state.review = ReviewContext(
        cfg=cfg, db=db, templates=_templates(), metrics=build_metrics(db), themes=_theme_labels(cfg),
        clock=clock or (lambda: datetime.now(UTC)),
    )
    return app
