"""Pure view models: what the templates and the JSON API show, built from storage records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.payload import alert_as_dict, explanation_numbers, json_safe
from pipeline.alerts.values import AlertEventRecord, AlertRecord, ArticleRef, DeliveryRecord
from pipeline.review import format as f
from pipeline.review.highlight import Highlighted, Segment, Snippet, highlight
from pipeline.storage.review import EvidenceArticle
from pipeline.timewindows import iso


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled number of an explanation; ``hint`` says how it was computed."""

    label: str
    value: str
    hint: str = ""
    emphasis: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Member:
    """A member shift of a composite alert."""

    theme: str
    direction: str
    level: str
    window_start: str
    onset: str


@dataclass(frozen=True, slots=True)
class ExplanationView:
    summary: str
    sections: tuple[Section, ...]
    members: tuple[Member, ...]
    s: float | None  # CUSUM at the alert, for the S-vs-h gauge
    h: float | None
    methods: tuple[tuple[str, str], ...]  # (what, how) for the methods footnote


@dataclass(frozen=True, slots=True)
class ArticleView:
    title: str
    title_segments: tuple[Segment, ...]  # the title with matched words marked
    href: str | None  # only http(s) URLs are linked
    url: str | None
    published_at: datetime | None
    source: str | None
    score: float | None
    theme: str | None
    snippets: tuple[Snippet, ...]
    title_terms: tuple[str, ...] = ()  # rules that matched in the title


# Keys of an explanation the sections below show; anything else is listed under "Other numbers".
_SHOWN = {
    "theme", "direction", "level", "method", "window_start", "window_end", "onset", "observed_since_onset",
    "expected_since_onset", "ratio", "ratio_interval", "ratio_method", "window_x", "window_n", "window_proportion",
    "window_interval", "baseline_proportion", "baseline_interval", "p0_tested", "interval_method",
    "baseline_first", "baseline_last", "baseline_windows", "volume", "baseline_mean_volume", "volume_ratio", "phi",
    "phi_baseline", "rho", "dispersion_windows", "dispersion_model", "s", "h", "p_value", "p_value_method",
    "arl0_windows", "false_alarm_rate", "arl0_method", "raw_x", "raw_n", "sources", "health_flag", "health_reason",
    "summary", "top_articles", "members", "rule_id", "label",
}


def _get(e: Mapping[str, Any], key: str) -> Any:
    return e.get(key)


def _rows(*rows: Row | None) -> tuple[Row, ...]:
    return tuple(r for r in rows if r is not None)


def _if(cond: bool, row: Row) -> Row | None:
    return row if cond else None


def explanation_view(alert: AlertRecord) -> ExplanationView:
    """The alert's explanation as labelled sections; tolerant of missing keys (older or composite alerts)."""
    e: Mapping[str, Any] = alert.explanation or {}
    has = e.__contains__
    sections: list[Section] = []

    ratio_text = f.ratio(e.get("ratio"))
    ci = f.interval(e.get("ratio_interval"), "ratio")
    shift = _rows(
        Row("Estimated onset", f.window(e.get("onset"), None) if e.get("onset") else f.when(alert.onset),
            "the window where the CUSUM last left zero"),
        _if(has("observed_since_onset"), Row("Observed since onset", f.num(e.get("observed_since_onset")),
                                             "story clusters carrying the theme", emphasis=True)),
        _if(has("expected_since_onset"), Row("Expected since onset", f.num(e.get("expected_since_onset"), 3),
                                             "clusters \u00d7 baseline proportion, window by window")),
        _if(has("ratio"), Row("Observed / expected", f"{ratio_text}" + (f"  (95 % CI {ci})" if ci else ""),
                              str(e.get("ratio_method") or ""), emphasis=True)),
    )
    sections.append(Section("Shift since onset", shift))

    x, n = e.get("window_x"), e.get("window_n")
    window_rows = _rows(
        _if(has("window_proportion") or has("window_x"),
            Row("This window", f"{f.num(x)} of {f.num(n)} stories = {f.pct(e.get('window_proportion'))}"
                + (f"  (95 % {f.interval(e.get('window_interval'))})" if e.get("window_interval") else ""),
                str(e.get("interval_method") or ""), emphasis=True)),
        _if(has("baseline_proportion"),
            Row("Baseline p\u2080", f.pct(e.get("baseline_proportion"))
                + (f"  (95 % {f.interval(e.get('baseline_interval'))})" if e.get("baseline_interval") else ""),
                str(e.get("interval_method") or ""))),
        _if(has("p0_tested") and e.get("p0_tested") != e.get("baseline_proportion"),
            Row("Tested against", f.pct(e.get("p0_tested")), "the proportion the window was tested against "
                "(sparse themes: the pseudo-count floor)")),
        _if(has("baseline_windows"),
            Row("Baseline windows", f"{f.num(e.get('baseline_windows'))} windows, "
                f"{f.day(e.get('baseline_first'))} to {f.day(e.get('baseline_last'))}",
                "trailing windows, guard windows and earlier alert episodes left out")),
    )
    sections.append(Section("Proportion: this window vs baseline", window_rows))

    if has("volume") or has("baseline_mean_volume"):
        sections.append(Section("Volume", _rows(
            Row("Stories this window", f.num(e.get("volume"))),
            Row("Baseline mean per window", f.num(e.get("baseline_mean_volume"), 4)),
            _if(has("volume_ratio"), Row("Volume ratio", f.ratio(e.get("volume_ratio")),
                                         "a large change in volume can explain a shift in proportion")),
        )))

    detector = _rows(
        _if(has("method"), Row("Method", str(e.get("method")))),
        _if(has("s"), Row("CUSUM S vs threshold h", f"S = {f.num(e.get('s'), 3)}  vs  h = {f.num(e.get('h'), 3)}",
                          "an alert is raised when S reaches h", emphasis=True)),
        _if(has("phi"), Row("Overdispersion \u03c6", f.num(e.get("phi"), 3),
                            "variance over binomial variance, applied to this window (1 = binomial)")),
        _if(has("phi_baseline"), Row("\u03c6 at the baseline's mean volume", f.num(e.get("phi_baseline"), 3))),
        _if(has("dispersion_model"), Row("Dispersion model", _dispersion(e))),
        _if(has("p_value"), Row("p-value (this window)", f.pvalue(e.get("p_value")),
                                str(e.get("p_value_method") or ""))),
        _if(has("false_alarm_rate"), Row("False-alarm rate", str(e.get("false_alarm_rate")),
                                         str(e.get("arl0_method") or ""), emphasis=True)),
        _if(has("arl0_windows"), Row("In-control run length", _arl(e.get("arl0_windows")))),
    )
    if detector:
        sections.append(Section("Detector", detector))

    dedup = _rows(
        _if(has("raw_x"), Row("Articles with the theme", f"{f.num(e.get('raw_x'))} articles \u2192 "
                              f"{f.num(x)} distinct stories", "syndicated copies of one story count once")),
        _if(has("raw_n"), Row("All articles",
                              f"{f.num(e.get('raw_n'))} articles \u2192 {f.num(n)} distinct stories")),
        _if(has("sources"), Row("Distinct sources", f.num(e.get("sources")),
                                "sources behind the stories with the theme")),
    )
    if dedup:
        sections.append(Section("Deduplication and sources", dedup))

    health_reason = alert.health_reason or e.get("health_reason") or ""
    sections.append(Section("Health", (Row(
        "Health check", ("flagged: " + str(health_reason)) if alert.health_flag else "passed",
        "volume, failed sources or one dominant source may explain the shift", emphasis=alert.health_flag),)))

    leftovers = {k: v for k, v in e.items() if k not in _SHOWN}
    other = tuple(Row(k, v) for k, v in explanation_numbers(leftovers, limit=40))
    if other:
        sections.append(Section("Other numbers", other))

    members = tuple(
        Member(theme=str(m.get("theme", "")), direction=str(m.get("direction", "")), level=str(m.get("level", "")),
               window_start=f.day(m.get("window_start")), onset=f.day(m.get("onset")))
        for m in (e.get("members") or []) if isinstance(m, Mapping)
    )
    methods = tuple((label, str(e[key])) for label, key in (
        ("Ratio interval", "ratio_method"), ("Proportion intervals", "interval_method"),
        ("p-value", "p_value_method"), ("False-alarm rate", "arl0_method")) if isinstance(e.get(key), str))
    s, h = e.get("s"), e.get("h")
    return ExplanationView(
        summary=str(e.get("summary") or ""),
        sections=tuple(sections),
        members=members,
        s=float(s) if isinstance(s, (int, float)) else None,
        h=float(h) if isinstance(h, (int, float)) else None,
        methods=methods,
    )


def _dispersion(e: Mapping[str, Any]) -> str:
    model = str(e.get("dispersion_model"))
    windows = f" from {f.num(e.get('dispersion_windows'))} windows" if e.get("dispersion_windows") is not None else ""
    if model == "volume":
        return f"grows with volume: \u03c6(n) = 1 + (n \u2212 1)\u03c1, \u03c1 = {f.num(e.get('rho'), 3)}{windows}"
    if model == "constant":
        return f"constant: Pearson \u03c7\u00b2 / df{windows}"
    return model + windows


def _arl(value: Any) -> str:
    if value is None:
        return "practically never"
    return f"{f.num(value, 3)} windows on average between false alarms"


def _value(alert: AlertRecord, v: float) -> str:
    """Observed and expected are proportions for theme alerts; sparse and composite rules give counts."""
    return f.pct(v) if alert.kind == "theme" else f.num(v, 3)


def alert_values(alert: AlertRecord) -> tuple[str, str]:
    return _value(alert, alert.observed), _value(alert, alert.expected)


def article_views(articles: Sequence[EvidenceArticle]) -> list[ArticleView]:
    return [
        _article_view(a, highlight(a.title, a.text, a.evidence))
        for a in articles
    ]


def _article_view(a: EvidenceArticle, h: Highlighted) -> ArticleView:
    return ArticleView(title=a.title, title_segments=h.title, href=f.safe_href(a.url), url=a.url,
                       published_at=a.published_at, source=a.source, score=a.score, theme=a.theme,
                       snippets=h.snippets, title_terms=h.title_terms)


def refs_as_views(refs: Sequence[ArticleRef]) -> list[ArticleView]:
    """Articles listed without stored evidence (e.g. pruned from the database)."""
    return [
        ArticleView(title=r.title, title_segments=(Segment(r.title),), href=f.safe_href(r.url), url=r.url,
                    published_at=r.published_at, source=r.source, score=r.score, theme=None, snippets=())
        for r in refs
    ]


def article_json(a: ArticleView) -> dict[str, Any]:
    return {
        "title": a.title, "url": a.url, "published_at": iso(a.published_at), "source": a.source,
        "score": json_safe(a.score), "theme": a.theme,
        "title_marks": [s.text for s in a.title_segments if s.mark],
        "snippets": [{"text": "".join(s.text for s in sn.segments),
                      "marks": [s.text for s in sn.segments if s.mark], "terms": list(sn.terms)}
                     for sn in a.snippets],
    }


def event_json(e: AlertEventRecord) -> dict[str, Any]:
    return {"action": e.action, "note": e.note, "actor": e.actor, "at": iso(e.at)}


def delivery_json(d: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": d.id, "channel": d.channel, "kind": d.kind, "status": d.status, "attempts": d.attempts,
        "next_attempt_at": iso(d.next_attempt_at), "last_error": d.last_error, "message_id": d.message_id,
        "due_at": iso(d.due_at), "created_at": iso(d.created_at), "sent_at": iso(d.sent_at),
    }


def alert_json(alert: AlertRecord) -> dict[str, Any]:
    """The same object as ``pipeline alerts list --json`` (times as ISO 8601 with Z)."""
    out: dict[str, Any] = json_safe(alert_as_dict(alert))
    return out
