"""The HTML pages: inbox, alert, theme, sources; escaping of hostile text; security headers; errors."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from tests.review.review_support import HOSTILE_TITLE, HOSTILE_URL, Seeded


class _Collector(HTMLParser):
    """Tags, attributes and script elements of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script" and not dict(attrs).get("src"):
            self.inline_scripts += 1

    def elements(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def parse(html: str) -> _Collector:
    c = _Collector()
    c.feed(html)
    return c


def rows_in_order(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'<a class="alert-link" href="/alerts/(\d+)">', html)]


def test_inbox_lists_open_alerts_first(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    order = rows_in_order(r.text)
    assert set(order[:3]) == {seeded.rise, seeded.sparse, seeded.composite}
    assert order[3:] == [seeded.fall]
    assert "3</strong> open alerts" in r.text


def test_inbox_row_shows_theme_direction_window_values_and_health(client: TestClient, seeded: Seeded) -> None:
    html = client.get("/").text
    row = re.search(rf'href="/alerts/{seeded.fall}">.*?</tr>', html, re.S)
    assert row is not None
    cells = row.group(0)
    assert "Returning fighters" in cells and 'href="/themes/returning_fighters"' in cells
    assert "▼ fall" in cells
    assert "2024-04-20" in cells
    assert "0 %" in cells and "3 %" in cells  # observed vs expected
    assert "⚠ check" in cells and "only 1 of 2 sources polled fine" in cells
    assert "status-acked" in cells
    sparse = re.search(rf'href="/alerts/{seeded.sparse}">.*?</tr>', html, re.S)
    assert sparse is not None and "<td class=\"num strong\">4</td>" in sparse.group(0)  # counts, not a percentage


def test_inbox_filters(client: TestClient, seeded: Seeded) -> None:
    assert rows_in_order(client.get("/?status=acked").text) == [seeded.fall]
    assert sorted(rows_in_order(client.get("/?theme=returning_fighters").text)) == sorted([seeded.rise, seeded.fall])
    assert rows_in_order(client.get("/?status=dismissed").text) == []
    assert "No alerts match" in client.get("/?status=dismissed").text
    assert client.get("/?status=bogus").status_code == 400


def test_alert_page_explains_everything(client: TestClient, seeded: Seeded) -> None:
    r = client.get(f"/alerts/{seeded.rise}")
    assert r.status_code == 200
    text = re.sub(r"\s+", " ", r.text)
    for expected in (
        "Rise in", "Returning fighters",
        "2024-04-29 00:00 UTC",  # onset
        "Observed since onset", ">27<", "3.00× (95 % CI 1.91 – 4.52)",  # observed vs expected with ratio and CI
        "12 of 100 stories = 12 % (95 % 6.98 % – 19.8 %)",  # proportion with its Wilson interval
        "3 % (95 % 2.1 % – 4.27 %)",  # baseline with its interval
        "26 windows, 2024-04-01 to 2024-04-26",  # baseline dates
        "Baseline mean per window", "97.5",  # volume
        "Overdispersion φ", "1.4", "S = 6.25 vs h = 5",
        "1.2e-04",  # p-value
        "about one false alarm every 5 years",
        "15 articles → 12 distinct stories", "130 articles → 100 distinct stories",  # raw vs dedup
        "Distinct sources", "Health check", "passed",
        "How these numbers are computed",
    ):
        assert expected in text, expected
    # Evidence snippets mark the matched spans.
    assert "<mark>fighters returned</mark>" in r.text and "<mark>returning fighters</mark>" in r.text
    # The review trail and the buttons.
    assert re.search(r"<strong>raised</strong>\s*<span class=\"muted\">by detector</span>", r.text)
    page = parse(r.text)
    actions = [b.get("data-action") for b in page.elements("button") if b.get("data-action")]
    assert actions == ["ack", "confirm", "dismiss"]
    form = next(f for f in page.elements("form") if f.get("id") == "review-form")
    assert form["data-api"] == f"/api/alerts/{seeded.rise}" and form["data-enabled"] == "true"
    assert any(i.get("type") == "password" for i in page.elements("input"))


def test_hostile_title_and_text_are_escaped(client: TestClient, seeded: Seeded) -> None:
    html = client.get(f"/alerts/{seeded.rise}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    page = parse(html)
    assert page.inline_scripts == 0
    assert [s.get("src") for s in page.elements("script")] == ["/static/review.js"]
    assert not any(t == "img" for t, _ in page.tags)
    # A javascript: URL is never made a link.
    hrefs = [a.get("href") or "" for a in page.elements("a")]
    assert all(not h.lower().startswith("javascript:") for h in hrefs)
    assert f'href="{HOSTILE_URL}"' not in html
    assert HOSTILE_TITLE.startswith("<script>")
    # Notes in the trail are escaped too.
    fall = client.get(f"/alerts/{seeded.fall}").text
    assert "&lt;i&gt;looked&lt;/i&gt; at it" in fall and "<i>looked</i>" not in fall


def test_security_headers(client: TestClient) -> None:
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_alert_page_of_sparse_composite_and_flagged_alerts(client: TestClient, seeded: Seeded) -> None:
    fall = client.get(f"/alerts/{seeded.fall}").text
    assert "Health check flagged this window" in fall and "only 1 of 2 sources polled fine" in fall
    assert re.search(r"<strong>ack</strong>\s*<span class=\"muted\">by ana</span>", fall)
    sparse = client.get(f"/alerts/{seeded.sparse}").text
    assert "Other numbers" in sparse and "from three sources" in sparse and "2.0e-06" in sparse
    composite = re.sub(r"\s+", " ", client.get(f"/alerts/{seeded.composite}").text)
    assert "Composite: member shifts" in composite
    assert 'href="/themes/propaganda_collapse"' in composite and "watch" in composite


@pytest.mark.parametrize("path", ["/alerts/9999", "/alerts/abc", "/themes/no_such_theme", "/nowhere"])
def test_unknown_pages_are_404_html(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Not found" in r.text
    if path == "/alerts/9999":
        assert "alert 9999 does not exist" in r.text


def test_theme_page_draws_the_series_and_marks_alerts(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/themes/returning_fighters")
    assert r.status_code == 200
    page = parse(r.text)
    svg = page.elements("svg")
    assert len(svg) == 1 and svg[0]["viewbox"]
    polylines = {p.get("class") for p in page.elements("polyline")}
    assert {"prop", "baseline", "s-rise", "s-fall"} <= polylines
    assert len([c for c in page.elements("circle") if c.get("class") == "dot"]) == 31
    marker_links = [a.get("href") for a in page.elements("a") if (a.get("href") or "").startswith("/alerts/")]
    assert f"/alerts/{seeded.rise}" in marker_links and f"/alerts/{seeded.fall}" in marker_links
    assert any(line.get("class") == "threshold" for line in page.elements("line"))
    assert "2024-05-01: 12 of 100 stories = 12 % (baseline 3 %)" in r.text  # the tooltip of the alert window


def test_theme_page_period_and_composite(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/themes/returning_fighters?from=2024-04-25&to=2024-05-01")
    assert len([c for c in parse(r.text).elements("circle") if c.get("class") == "dot"]) == 7
    assert client.get("/themes/returning_fighters?from=nope").status_code == 400
    composite = client.get("/themes/new_phase")
    assert composite.status_code == 200
    assert "Composite rule" in composite.text and f'href="/alerts/{seeded.composite}"' in composite.text


def test_sources_page(client: TestClient) -> None:
    r = client.get("/sources")
    assert r.status_code == 200
    text = re.sub(r"\s+", " ", r.text)
    assert "Wire A" in text and "Wire B" in text
    assert "https://b.example.org/rss" in text
    assert "&lt;b&gt;HTTP 503&lt;/b&gt; from upstream" in r.text  # hostile error text escaped
    assert "10 min ago" in text and "40 min ago" in text and "in 5 min" in text
    assert "source-error" in text and "source-ok" in text
    # A feed's warning keeps its lines (the parser's complaint, then the entries it lost).
    assert ('class="hint warning-lines">warning: SAXParseException: mismatched tag\n1 of 4 entries not stored'
            in r.text)


def test_static_assets(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".warning-lines { white-space: pre-line; }" in css.text
    js = client.get("/static/review.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "sessionStorage" in js.text and "Authorization" in js.text
    # No external assets anywhere.
    for path in ("/", "/sources", "/themes/returning_fighters"):
        assert not re.search(r'(src|href)="(https?:)?//', client.get(path).text.replace(
            'href="https://a.example.org/feed"', "").replace('href="https://b.example.org/rss"', ""))


def test_page_without_token_configured_says_how_to_enable(client: TestClient, db: object, sqlite_url: str,
                                                          seeded: Seeded) -> None:
    from pipeline.review.app import create_app
    from tests.review.review_support import NOW, make_config

    app = create_app(make_config(sqlite_url, token=None), db, clock=lambda: NOW)  # type: ignore[arg-type]
    with TestClient(app) as c:
        html = c.get(f"/alerts/{seeded.rise}").text
    assert 'data-enabled="false"' in html and "web.token" in html
