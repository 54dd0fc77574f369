"""The OpenAPI 3.1 description of the review API, written by hand (the API is small and stable)."""

from __future__ import annotations

import copy
from typing import Any

from pipeline.alerts.values import ALERT_STATUSES

_TIME = {"type": ["string", "null"], "format": "date-time"}
_ERROR = {"$ref": "#/components/responses/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _id_param(what: str) -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "description": f"the {what}'s id",
            "schema": {"type": "string"}}


_SCHEMAS: dict[str, Any] = {
    "Alert": {
        "type": "object",
        "description": "A raised alert: the same object as `pipeline alerts list --json`.",
        "required": ["id", "theme", "direction", "window_start", "window_end", "observed", "expected", "status"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["theme", "sparse", "composite"]},
            "theme": {"type": "string", "description": "a theme id, or the composite rule's id"},
            "direction": {"type": "string", "enum": ["rise", "fall"]},
            "severity": {"type": "string"},
            "window_start": {"type": "string", "format": "date-time"},
            "window_end": {"type": "string", "format": "date-time"},
            "onset": {**_TIME, "description": "estimated start of the shift"},
            "observed": {"type": ["number", "null"], "description": "proportion (count for sparse rules)"},
            "expected": {"type": ["number", "null"]},
            "status": {"type": "string", "enum": list(ALERT_STATUSES)},
            "health_flag": {"type": "boolean"},
            "health_reason": {"type": ["string", "null"]},
            "explanation": {"type": "object", "description": "the detector's numbers behind the alert"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "AlertDetail": {
        "allOf": [{"$ref": "#/components/schemas/Alert"}, {
            "type": "object",
            "properties": {
                "url": {"type": ["string", "null"], "description": "the alert's review page"},
                "events": {"type": "array", "description": "review trail, oldest first", "items": {
                    "type": "object", "properties": {
                        "action": {"type": "string"}, "note": {"type": ["string", "null"]},
                        "actor": {"type": ["string", "null"]}, "at": {"type": "string", "format": "date-time"}}}},
                "deliveries": {"type": "array", "items": {"type": "object"}},
                "top_articles": {"type": "array", "items": {
                    "type": "object", "properties": {
                        "title": {"type": "string"}, "url": {"type": ["string", "null"]},
                        "published_at": _TIME, "source": {"type": ["string", "null"]},
                        "score": {"type": ["number", "null"]}, "theme": {"type": ["string", "null"]},
                        "snippets": {"type": "array", "items": {"type": "object", "properties": {
                            "text": {"type": "string"}, "marks": {"type": "array", "items": {"type": "string"}},
                            "terms": {"type": "array", "items": {"type": "string"}}}}}}}},
            },
        }],
    },
    "ReviewRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"note": {"type": "string", "maxLength": 4000, "description": "kept in the review trail"}},
    },
    "Series": {
        "type": "object",
        "required": ["theme", "window_hours", "windows", "alerts"],
        "properties": {
            "theme": {"type": "string"}, "label": {"type": "string"}, "window_hours": {"type": "number"},
            "from": _TIME, "to": _TIME, "h": {"type": "number", "description": "the CUSUM alert threshold"},
            "windows": {"type": "array", "items": {"type": "object", "properties": {
                "window_start": {"type": "string", "format": "date-time"},
                "window_end": {"type": "string", "format": "date-time"},
                "x": {"type": "integer", "description": "story clusters with the theme"},
                "n": {"type": "integer", "description": "all story clusters"},
                "proportion": {"type": ["number", "null"]}, "p0": {"type": ["number", "null"]},
                "s_rise": {"type": ["number", "null"]}, "s_fall": {"type": ["number", "null"]},
                "sources": {"type": "integer"}, "raw_x": {"type": "integer"}, "raw_n": {"type": "integer"}}}},
            "alerts": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "direction": {"type": "string"}, "status": {"type": "string"},
                "window_start": {"type": "string", "format": "date-time"}, "onset": _TIME}}},
        },
    },
    "Source": {
        "type": "object",
        "description": "A source with its health: the same object as `pipeline sources list --json`.",
        "required": ["name", "url", "status", "error_count", "last_error", "last_polled_at", "next_poll_at"],
        "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "url": {"type": "string"},
            "enabled": {"type": "boolean"}, "title": {"type": ["string", "null"]},
            "status": {"type": "string", "description": "new, ok, not_modified or error"},
            "http_status": {"type": ["integer", "null"]}, "error_count": {"type": "integer"},
            "last_error": {"type": ["string", "null"]}, "last_error_kind": {"type": ["string", "null"]},
            "last_warning": {"type": ["string", "null"]}, "last_polled_at": _TIME, "last_ok_at": _TIME,
            "next_poll_at": _TIME, "entries_stored": {"type": "integer"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["ok", "database"],
        "properties": {"ok": {"type": "boolean"}, "database": {"type": "boolean"}, "last_poll_at": _TIME,
                       "time": _TIME, "error": {"type": "string"}},
    },
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
    },
}


def _review_op(action: str, verb: str) -> dict[str, Any]:
    return {"post": {
        "operationId": f"{action}Alert",
        "summary": f"{verb} an alert (needs the bearer token)",
        "tags": ["alerts"],
        "security": [{"bearerToken": []}],
        "parameters": [_id_param("alert")],
        "requestBody": {"required": False, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReviewRequest"}}}},
        "responses": {
            "200": _json({"$ref": "#/components/schemas/AlertDetail"}, "the alert after the action"),
            "400": _ERROR, "401": _ERROR,
            "403": {"$ref": "#/components/responses/Disabled"},
            "404": _ERROR,
        },
    }}


def _page(summary: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": ["pages"], "responses": {
        "200": {"description": "an HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}}}


def spec() -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each call)."""
    day = {"type": "string", "format": "date"}
    paths: dict[str, Any] = {
        "/api/alerts": {"get": {
            "operationId": "listAlerts", "summary": "raised alerts, newest window first", "tags": ["alerts"],
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": [*ALERT_STATUSES, "all"]}},
                {"name": "theme", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
            ],
            "responses": {"200": _json({"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                                       "the alerts"), "400": _ERROR},
        }},
        "/api/alerts/{id}": {"get": {
            "operationId": "getAlert", "summary": "one alert with its trail, deliveries and top articles",
            "tags": ["alerts"], "parameters": [_id_param("alert")],
            "responses": {"200": _json({"$ref": "#/components/schemas/AlertDetail"}, "the alert"), "404": _ERROR},
        }},
        "/api/alerts/{id}/ack": _review_op("ack", "Acknowledge"),
        "/api/alerts/{id}/confirm": _review_op("confirm", "Confirm"),
        "/api/alerts/{id}/dismiss": _review_op("dismiss", "Dismiss"),
        "/api/themes/{id}/series": {"get": {
            "operationId": "themeSeries", "summary": "a theme's counts, baseline and CUSUM per window",
            "tags": ["themes"],
            "parameters": [_id_param("theme"),
                           {"name": "from", "in": "query", "description": "first day (included)", "schema": day},
                           {"name": "to", "in": "query", "description": "last day (included)", "schema": day}],
            "responses": {"200": _json({"$ref": "#/components/schemas/Series"}, "the series"),
                          "400": _ERROR, "404": _ERROR},
        }},
        "/api/sources": {"get": {
            "operationId": "listSources", "summary": "every source with its health", "tags": ["sources"],
            "responses": {"200": _json({"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
                                       "the sources")},
        }},
        "/healthz": {"get": {
            "operationId": "health", "summary": "liveness: the database answers; when a source was last polled",
            "tags": ["service"],
            "responses": {"200": _json({"$ref": "#/components/schemas/Health"}, "healthy"),
                          "503": _json({"$ref": "#/components/schemas/Health"}, "the database did not answer")},
        }},
        "/metrics": {"get": {
            "operationId": "metrics", "summary": "Prometheus metrics (text exposition format)", "tags": ["service"],
            "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "this document", "tags": ["service"],
            "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
        }},
        "/": _page("the alerts inbox (open alerts first; query: status, theme)"),
        "/alerts/{id}": {"get": {**_page("one alert with its whole explanation and review buttons")["get"],
                                 "parameters": [_id_param("alert")]}},
        "/themes/{id}": {"get": {**_page("a theme's series with the alerts marked")["get"],
                                 "parameters": [_id_param("theme")]}},
        "/sources": _page("source health"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pipeline review API",
            "version": "1",
            "description": "Read alerts, theme series and source health; review alerts. Reading needs no login; "
                           "review actions need `Authorization: Bearer <web.token>`.",
        },
        "paths": paths,
        "components": {
            "schemas": copy.deepcopy(_SCHEMAS),
            "responses": {
                "Error": _json({"$ref": "#/components/schemas/Error"}, "an error, with a message saying what is wrong"),
                "Disabled": _json({"$ref": "#/components/schemas/Error"},
                                  "review actions are disabled because web.token is not configured"),
            },
            "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer",
                                                "description": "the configured web.token"}},
        },
    }
