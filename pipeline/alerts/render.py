"""Human-readable renderings of a notification payload: subject line, plain text, HTML (for email, Apprise).

Everything shown comes from the payload, so every channel tells the same numbers. Text that may come from
the outside world (article titles, theme ids) is stripped of control characters before it reaches a
subject line, and HTML is autoescaped by Jinja2.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from jinja2 import ChainableUndefined, Environment

from pipeline.alerts.payload import explanation_numbers

SUBJECT_MAX = 150  # characters; even if all were 4-byte UTF-8, the encoded header stays under 998

_TEXT = """\
{% if kind == "digest" %}Daily digest: {{ alerts|length }} alert{{ "" if alerts|length == 1 else "s" }}.
{% elif kind == "test" %}A test notification: if you can read this, the channel works.
{% elif kind == "repeat" %}Still open: {{ alerts|length }} alert{{ "" if alerts|length == 1 else "s" }}.
{% else %}{{ alerts|length }} new alert{{ "" if alerts|length == 1 else "s" }}.
{% endif %}
{% for a in alerts %}
[{{ loop.index }}] {{ a.direction|capitalize }} in {{ a.theme|clean }} ({{ a.kind }} alert, {{ a.severity|clean }}, \
{{ a.status }}){{ " - still open" if a.repeat else "" }}
    Window:    {{ a.window.start }} to {{ a.window.end }}
{% if a.onset %}    Onset:     {{ a.onset }}
{% endif %}\
    Observed:  {{ a.observed|num }}   Expected: {{ a.expected|num }}{% if a.ratio is not none %}   \
Ratio: {{ a.ratio|num }}{% endif %}
{% if a.health.flag %}    Health:    flagged - {{ (a.health.reason or "no reason given")|clean }}
{% endif %}\
{% if a.numbers %}    Explanation:
{% for k, v in a.numbers %}      {{ k|clean }}: {{ v|clean }}
{% endfor %}{% endif %}\
{% if a.top_articles %}    Top articles:
{% for t in a.top_articles %}      - {{ t.title|clean }}{% if t.source %} ({{ t.source|clean }}){% endif %}\
{% if t.url %}
        {{ t.url|clean }}{% endif %}
{% endfor %}{% endif %}\
{% if a.url %}    Review:    {{ a.url }}
{% endif %}
{% endfor %}{{ "-- " }}
pipeline news threat-trend monitor, message {{ message_id }}
"""

_HTML = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif">
<p>{% if kind == "digest" %}Daily digest: {{ alerts|length }} alert(s).{% elif kind == "test" %}\
A test notification: if you can read this, the channel works.{% elif kind == "repeat" %}\
Still open: {{ alerts|length }} alert(s).{% else %}{{ alerts|length }} new alert(s).{% endif %}</p>
{% for a in alerts %}
<h3>{{ a.direction|capitalize }} in {{ a.theme }} <small>({{ a.kind }}, {{ a.severity }}, {{ a.status }})</small></h3>
<table cellpadding="3">
<tr><th align="left">Window</th><td>{{ a.window.start }} to {{ a.window.end }}</td></tr>
{% if a.onset %}<tr><th align="left">Onset</th><td>{{ a.onset }}</td></tr>{% endif %}
<tr><th align="left">Observed</th><td>{{ a.observed|num }}</td></tr>
<tr><th align="left">Expected</th><td>{{ a.expected|num }}</td></tr>
{% if a.ratio is not none %}<tr><th align="left">Ratio</th><td>{{ a.ratio|num }}</td></tr>{% endif %}
{% if a.health.flag %}<tr><th align="left">Health</th><td>flagged: {{ a.health.reason or "no reason given" }}</td></tr>\
{% endif %}
{% for k, v in a.numbers %}<tr><th align="left">{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
</table>
{% if a.top_articles %}<ul>{% for t in a.top_articles %}<li>{% if t.url %}<a href="{{ t.url }}">{{ t.title }}</a>\
{% else %}{{ t.title }}{% endif %}{% if t.source %} ({{ t.source }}){% endif %}</li>{% endfor %}</ul>{% endif %}
{% if a.url %}<p><a href="{{ a.url }}">Review this alert</a></p>{% endif %}
{% endfor %}
<p style="color: gray">pipeline news threat-trend monitor, message {{ message_id }}</p>
</body></html>
"""


def clean(text: Any) -> str:
    """One line of printable text: control, format and line/paragraph separator characters become spaces."""
    s = "" if text is None else str(text)
    s = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in s)
    return re.sub(r"\s+", " ", s).strip()


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _env(autoescape: bool) -> Environment:
    # Lenient: a payload missing an optional field still renders (a delivery must not fail on looks).
    env = Environment(autoescape=autoescape, undefined=ChainableUndefined, keep_trailing_newline=True)
    env.filters["clean"] = clean
    env.filters["num"] = _num
    return env


_TEXT_TEMPLATE = _env(False).from_string(_TEXT)
_HTML_TEMPLATE = _env(True).from_string(_HTML)


def _context(payload: Mapping[str, Any]) -> dict[str, Any]:
    alerts = []
    for a in payload.get("alerts", []):
        alerts.append({**a, "numbers": explanation_numbers(a.get("explanation") or {})})
    return {"kind": payload.get("type"), "alerts": alerts, "message_id": payload.get("message_id"),
            "subject": subject(payload)}


def subject(payload: Mapping[str, Any], prefix: str = "") -> str:
    """A one-line subject naming what happened; safe for a mail header whatever the titles hold."""
    alerts = list(payload.get("alerts", []))
    kind = payload.get("type")
    if kind == "test":
        text = "Test notification from pipeline"
    elif kind == "digest":
        day = str(payload.get("created_at") or "")[:10]
        text = f"Daily digest {day}: {len(alerts)} alert{'' if len(alerts) == 1 else 's'}"
        if alerts:
            text += ": " + ", ".join(f"{a['theme']} {a['direction']}" for a in alerts[:5])
    elif len(alerts) == 1:
        a = alerts[0]
        text = (f"{'Still open: ' if a.get('repeat') else ''}{str(a['direction']).capitalize()} in {a['theme']}: "
                f"{_num(a['observed'])} vs {_num(a['expected'])} expected")
        titles = [t["title"] for t in a.get("top_articles") or [] if t.get("title")]
        if titles:
            text += f" - {titles[0]}"
    else:
        text = f"{len(alerts)} alerts: " + ", ".join(f"{a['theme']} {a['direction']}" for a in alerts[:5])
        if len(alerts) > 5:
            text += ", ..."
    line = clean(f"{prefix} {text}" if prefix else text)
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 3].rstrip() + "..."


def text_body(payload: Mapping[str, Any]) -> str:
    return _TEXT_TEMPLATE.render(**_context(payload))


def html_body(payload: Mapping[str, Any]) -> str:
    return _HTML_TEMPLATE.render(**_context(payload))
