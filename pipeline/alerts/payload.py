"""The versioned notification payload, the one document every channel renders.

A webhook POSTs it as its JSON body; email and Apprise render the same numbers as text. Schema version 1::

    {
      "schema": "pipeline.alert-notification",   # constant
      "schema_version": 1,                        # bumped only on incompatible change; fields are only added
      "type": "alerts" | "repeat" | "digest" | "test",
      "message_id": "msg_…",                      # equals the webhook-id header; the same on every retry
      "channel": "ops-webhook",
      "created_at": "2024-05-01T08:00:00Z",       # when the notification was assembled
      "count": 2,                                 # len(alerts)
      "alerts": [
        {
          "id": 17,
          "url": "https://monitor.example.org/alerts/17",  # review page, null when web.base_url is unknown
          "kind": "theme" | "sparse" | "composite",
          "theme": "returning_fighters",          # theme id, or the composite rule's id
          "direction": "rise" | "fall",
          "severity": "warning",
          "status": "open" | "acked" | "confirmed" | "dismissed",
          "repeat": false,                        # true when re-sent after repeat_interval
          "window": {"start": "…Z", "end": "…Z"},  # the window in which it was raised
          "onset": "…Z" | null,                   # estimated start of the shift
          "observed": 0.081, "expected": 0.012,   # proportions (or counts, for sparse rules)
          "ratio": 6.75 | null,                   # observed / expected
          "health": {"flag": false, "reason": null},
          "explanation": {…},                     # the detector's numbers, as stored (non-finite -> null)
          "top_articles": [{"title", "url", "published_at", "source", "score"}],
          "raised_at": "…Z"
        }
      ]
    }

Times are ISO 8601 UTC with a ``Z``. Receivers verify the Standard Webhooks signature over the raw body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pipeline.alerts.values import AlertRecord, ArticleRef
from pipeline.timewindows import iso

SCHEMA = "pipeline.alert-notification"
SCHEMA_VERSION = 1



def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None and datetimes as ISO text, so it is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def review_url(base_url: str | None, alert_id: int) -> str | None:
    """``{web.base_url}/alerts/{id}``, or None when the base URL is unknown."""
    return f"{base_url.rstrip('/')}/alerts/{alert_id}" if base_url else None


def ratio(observed: float, expected: float) -> float | None:
    return observed / expected if expected and math.isfinite(observed / expected) else None


def alert_entry(
    alert: AlertRecord, articles: Sequence[ArticleRef], *, base_url: str | None, repeat: bool = False
) -> dict[str, Any]:
    """One alert as it appears in a notification payload."""
    r = ratio(alert.observed, alert.expected)
    return {
        "id": alert.id,
        "url": review_url(base_url, alert.id),
        "kind": alert.kind,
        "theme": alert.theme,
        "direction": alert.direction,
        "severity": alert.severity,
        "status": alert.status,
        "repeat": repeat,
        "window": {"start": iso(alert.window_start), "end": iso(alert.window_end)},
        "onset": iso(alert.onset),
        "observed": json_safe(alert.observed),
        "expected": json_safe(alert.expected),
        "ratio": None if r is None else round(r, 4),
        "health": {"flag": alert.health_flag, "reason": alert.health_reason},
        "explanation": json_safe(dict(alert.explanation or {})),
        "top_articles": [
            {
                "title": a.title,
                "url": a.url,
                "published_at": iso(a.published_at),
                "source": a.source,
                "score": json_safe(a.score),
            }
            for a in articles
        ],
        "raised_at": iso(alert.created_at),
    }


def build_payload(
    *, kind: str, message_id: str, channel: str, created_at: datetime, entries: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The whole notification document."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "type": kind,
        "message_id": message_id,
        "channel": channel,
        "created_at": iso(created_at),
        "count": len(entries),
        "alerts": [dict(e) for e in entries],
    }


def encode(payload: Mapping[str, Any]) -> str:
    """The exact JSON text sent (and signed): compact, keys sorted, UTF-8 kept readable."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def alert_as_dict(alert: AlertRecord) -> dict[str, Any]:
    """An alert as the CLI's and the API's JSON show it (datetimes left for the caller's encoder)."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "theme": alert.theme,
        "direction": alert.direction,
        "severity": alert.severity,
        "window_start": alert.window_start,
        "window_end": alert.window_end,
        "onset": alert.onset,
        "observed": json_safe(alert.observed),
        "expected": json_safe(alert.expected),
        "status": alert.status,
        "health_flag": alert.health_flag,
        "health_reason": alert.health_reason,
        "explanation": json_safe(dict(alert.explanation or {})),
        "created_at": alert.created_at,
        "updated_at": alert.updated_at,
    }


def explanation_numbers(explanation: Mapping[str, Any], *, limit: int = 20) -> list[tuple[str, str]]:
    """Scalar numbers of an explanation as (dotted key, text) rows for human-readable channels."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        if len(rows) >= limit:
            return
        if isinstance(value, bool) or value is None or isinstance(value, str):
            if isinstance(value, str) and len(value) <= 80:
                rows.append((prefix, value))
            elif isinstance(value, bool):
                rows.append((prefix, "yes" if value else "no"))
        elif isinstance(value, (int, float)):
            rows.append((prefix, f"{value:.6g}" if isinstance(value, float) else str(value)))
        elif isinstance(value, Mapping) and depth < 2:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v, depth + 1)

    for key, value in explanation.items():
        if key != "top_articles":
            walk(str(key), value, 0)
    return rows
