"""The pure parts of the review page: token check, highlighting, formatting, chart geometry, explanation view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.alerts.values import AlertRecord
from pipeline.review import format as f
from pipeline.review.auth import check_bearer
from pipeline.review.chart import AlertMark, SeriesPoint, build_chart, nice_ceiling
from pipeline.review.highlight import highlight
from pipeline.review.views import explanation_view
from pipeline.themes import compile_themes, parse_themes
from tests.review.review_support import THEMES, explanation

T = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("header, token, verdict", [
    ("Bearer abc", "abc", "ok"),
    ("bearer abc", "abc", "ok"),
    ("Bearer  abc ", "abc", "ok"),
    ("Bearer abd", "abc", "wrong"),
    ("Bearer ab", "abc", "wrong"),
    ("Bearer abcd", "abc", "wrong"),
    ("Basic abc", "abc", "missing"),
    ("Bearer", "abc", "missing"),
    ("", "abc", "missing"),
    (None, "abc", "missing"),
    ("Bearer abc", None, "disabled"),
    ("Bearer ", "", "disabled"),
    ("Bearer x", "  ", "disabled"),
    ("Bearer Ünïcødé", "Ünïcødé", "ok"),
])
def test_check_bearer(header: str | None, token: str | None, verdict: str) -> None:
    assert check_bearer(header, token) == verdict


def _marked(segments: tuple[object, ...]) -> list[str]:
    return [s.text for s in segments if getattr(s, "mark", False)]  # type: ignore[attr-defined]


def test_highlight_marks_what_the_real_matcher_matched() -> None:
    matcher = compile_themes(parse_themes(THEMES, "test"))
    title = "Returning fighters: a new worry"
    text = ("The report, long and detailed, covers many things. " * 4
            + "Officials said several fighters returned home. Unrelated words follow here. " * 1
            + "Padding sentence without any match at all. " * 6
            + "Later, more returning fighters were seen.")
    hit = next(h for h in matcher.match(text, title) if h.theme == "returning_fighters")
    evidence = [{"start": e.start, "end": e.end, "term": e.term, "snippet": e.snippet} for e in hit.evidence]
    h = highlight(title, text, evidence, width=40)
    assert _marked(h.title) == ["Returning fighters"]
    assert "".join(s.text for s in h.title) == title
    assert h.title_terms == ("returning fighters",)
    # Two body matches far apart: two snippets, each cut at word boundaries with ellipses.
    assert [_marked(sn.segments) for sn in h.snippets] == [["fighters returned"], ["returning fighters"]]
    first = "".join(s.text for s in h.snippets[0].segments)
    assert first.startswith("… ") and first.endswith(" …")
    assert "Officials said several fighters returned home." in first
    last = "".join(s.text for s in h.snippets[1].segments)
    assert last.endswith("were seen.")


def test_highlight_span_across_title_and_text_and_overlaps() -> None:
    title, text = "Fighters", "returned home. Again fighters returned."
    # "near" spans may start in the title and end in the text; overlapping spans merge.
    body = len(title) + 2
    evidence = [{"start": 0, "end": body + 8, "term": "t"},
                {"start": body + 21, "end": body + 38, "term": "t"},
                {"start": body + 30, "end": body + 38, "term": "u"}]
    h = highlight(title, text, evidence)
    assert _marked(h.title) == ["Fighters"]
    assert len(h.snippets) == 1
    assert _marked(h.snippets[0].segments) == ["returned", "fighters returned"]
    assert h.snippets[0].terms == ("t", "u")


def test_highlight_falls_back_to_stored_snippets_when_offsets_do_not_fit() -> None:
    h = highlight("T", "short", [{"start": 50, "end": 60, "term": "x", "snippet": "…the   stored\nsnippet…"},
                                 {"start": "a", "end": 2, "term": "y", "snippet": "…the   stored\nsnippet…"}])
    assert [[s.text for s in sn.segments] for sn in h.snippets] == [["…the stored snippet…"]]
    assert not any(s.mark for sn in h.snippets for s in sn.segments)
    assert highlight("T", "text", []).snippets == ()


@given(st.text(max_size=60), st.text(max_size=300), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)),
                                                                max_size=6))
def test_highlight_never_invents_text(title: str, text: str, spans: list[tuple[int, int]]) -> None:
    evidence = [{"start": a, "end": b, "term": "t"} for a, b in spans]
    h = highlight(title, text, evidence)
    squashed = " ".join((title + " " + text).split())
    for sn in h.snippets:
        for seg in sn.segments:
            piece = seg.text.strip(" …")
            assert " ".join(piece.split()) in squashed
    assert " ".join("".join(s.text for s in h.title).split()) == " ".join(title.split())


@pytest.mark.parametrize("url, ok", [
    ("https://example.org/a?b=1", True), ("http://x.org", True), ("javascript:alert(1)", False),
    (" JavaScript:alert(1)", False), ("data:text/html,x", False), ("//evil.org/x", False), ("/local", False),
    ("", False), (None, False), ("http://[::1", False),
])
def test_safe_href(url: str | None, ok: bool) -> None:
    assert (f.safe_href(url) is not None) == ok


def test_formatting() -> None:
    assert f.pct(0.0812) == "8.12 %" and f.pct(0.5) == "50 %" and f.pct(0) == "0 %" and f.pct(None) == "n/a"
    assert f.pct(float("nan")) == "n/a"
    assert f.num(1234567) == "1\u202f234\u202f567" and f.num(2.0) == "2" and f.num(0.123456) == "0.1235"
    assert f.num(True) == "n/a"
    assert f.pvalue(0.0123) == "0.012" and f.pvalue(2e-6) == "2.0e-06" and f.pvalue(0) == "< 1e-300"
    assert f.ratio(3) == "3.00×"
    assert f.interval([0.1, 0.2]) == "10 % – 20 %" and f.interval(None) == "" and f.interval([1]) == ""
    assert f.window(T, T + timedelta(days=1)) == "2024-05-01"
    assert f.window(T, T + timedelta(hours=6)) == "2024-05-01 00:00–06:00 UTC"
    assert f.window("2024-05-01T18:00:00+00:00", "2024-05-02T00:00:00+00:00") == "2024-05-01 18:00–00:00 UTC"
    assert f.window(None, None) == "—"
    assert f.when("2024-05-01T08:00:00Z") == "2024-05-01 08:00 UTC" and f.when("garbage") == "—"
    assert f.ago(T - timedelta(minutes=5), T) == "5 min ago" and f.ago(T + timedelta(hours=3), T) == "in 3 h"
    assert f.ago(None, T) == "never" and f.ago(T - timedelta(days=3), T) == "3 d ago"


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0.13, 0.2, 0.21, 3, 7, 0)] == [0.2, 0.2, 0.25, 5, 10, 1]


def test_chart_geometry() -> None:
    points = [SeriesPoint(T + timedelta(days=i), x=i, n=10 if i != 2 else 0, p0=0.1, s_rise=float(i), s_fall=None)
              for i in range(5)]
    chart = build_chart(points, [AlertMark(7, T + timedelta(days=4), "rise", "open"),
                                 AlertMark(8, T + timedelta(days=40), "fall", "open")], h=5.0)
    # The window without stories breaks the proportion line; it has no dot.
    assert len(chart.proportion) == 2 and len(chart.dots) == 4
    assert len(chart.s_rise) == 1 and chart.s_fall == ()
    # Only the alert inside the period is marked, at its window's x, linking to the alert.
    assert [(m.href, m.css) for m in chart.markers] == [("/alerts/7", "marker rise")]
    assert chart.markers[0].x == pytest.approx(chart.dots[-1].cx)
    # Higher values are higher up (smaller y); everything is inside the plot.
    ys = [d.cy for d in chart.dots]
    assert ys == sorted(ys, reverse=True)
    assert all(chart.top_y <= y <= chart.top_y + chart.top_h for y in ys)
    assert chart.h_y is not None and chart.low_y <= chart.h_y <= chart.low_y + chart.low_h
    assert chart.dots[-1].title == "2024-05-05: 4 of 10 stories = 40 % (baseline 10 %)"
    assert build_chart([], [], h=5.0).empty


def _alert(**over: object) -> AlertRecord:
    values: dict[str, object] = dict(
        id=1, kind="theme", theme="t", direction="rise", severity="warning", window_start=T,
        window_end=T + timedelta(days=1), onset=None, observed=0.1, expected=0.05, health_flag=False,
        health_reason=None, explanation={}, status="open", created_at=T, updated_at=T)
    values.update(over)
    return AlertRecord(**values)  # type: ignore[arg-type]


def test_explanation_view_is_tolerant_and_complete() -> None:
    empty = explanation_view(_alert())
    assert empty.summary == "" and empty.s is None and empty.members == ()
    assert [s.title for s in empty.sections] == ["Shift since onset", "Proportion: this window vs baseline", "Health"]
    full = explanation_view(_alert(explanation=explanation(arl0_windows=float("inf"), ratio=None)))
    rows = {r.label: r.value for s in full.sections for r in s.rows}
    assert rows["In-control run length"] == "practically never"
    assert rows["Observed / expected"].startswith("n/a")
    assert full.s == 6.25 and full.h == 5.0
    assert "Other numbers" not in [s.title for s in full.sections]  # every key of the real explanation is shown
    assert {m[0] for m in full.methods} == {"Ratio interval", "Proportion intervals", "p-value", "False-alarm rate"}
