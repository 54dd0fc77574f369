"""A real browser (Debian's headless Chromium through Playwright) reviews an alert on the live app.

Skips when Chromium or Playwright is missing, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import Config
from pipeline.review.app import create_app
from pipeline.storage.alerts import alert_events, get_alert
from pipeline.storage.db import Database
from tests.review.review_support import NOW, TOKEN, Seeded

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("REVIEW_SCREENSHOTS", "/tmp"))


def _require_browser() -> Any:
    """The Playwright sync API, or a skip (a failure under CI=true) naming what is missing."""
    missing = []
    sync_api: Any = None
    try:
        from playwright import sync_api
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sync_api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live_url(db: Database, cfg: Config, seeded: Seeded) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a thread."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(cfg, db, clock=lambda: NOW), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="review-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_analyst_acks_an_alert_in_the_browser(live_url: str, db: Database, seeded: Seeded) -> None:
    sync_api = _require_browser()
    note = "Checked with the desk <b>not bold</b>"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            # Nothing may leave the machine: every request goes to the app itself.
            requested: list[str] = []
            page.on("request", lambda req: requested.append(req.url))

            page.goto(live_url + "/")
            page.screenshot(path=str(SCREENSHOTS / "review-inbox.png"), full_page=True)
            page.click(f'a.alert-link[href="/alerts/{seeded.rise}"]')
            page.wait_for_url(f"**/alerts/{seeded.rise}")
            assert page.locator("h1").inner_text().startswith("▲ Rise in")
            # The hostile title is shown as text: no script ran, no image element was made.
            assert page.locator(".article-title", has_text='<script>alert("pwned")</script>').count() == 1
            assert page.locator(".article img").count() == 0

            # Without a token the page asks for one and sends nothing.
            page.click("button[data-action=ack]")
            assert page.locator("[data-message]").inner_text() == "Enter the review token first."
            # A wrong token is refused and the field asks again.
            page.fill("#review-token", "wrong")
            page.click("button[data-action=ack]")
            page.wait_for_selector("[data-message].error >> text=token is wrong")
            assert _state(db, seeded.rise) == ("open", [])

            page.fill("#review-note", note)
            page.fill("#review-token", TOKEN)
            page.screenshot(path=str(SCREENSHOTS / "review-alert-before.png"), full_page=True)
            page.click("button[data-action=ack]")
            page.wait_for_selector("#alert-status .status-acked")
            assert "Acknowledged: the alert is now acked." in page.locator("[data-message]").inner_text()
            assert page.locator("#trail li").last.inner_text().startswith("ack")
            assert note in page.locator("#trail li .note").last.inner_text()
            # The token is remembered for this tab: the next action needs no typing.
            assert page.locator("[data-token-row]").is_hidden()
            assert page.evaluate("sessionStorage.getItem('pipeline.review.token')") == TOKEN
            page.screenshot(path=str(SCREENSHOTS / "review-alert-acked.png"), full_page=True)

            page.goto(live_url + "/themes/returning_fighters")
            assert page.locator("svg.chart polyline.prop").count() >= 1
            page.screenshot(path=str(SCREENSHOTS / "review-theme.png"), full_page=True)
            page.goto(live_url + "/sources")
            page.screenshot(path=str(SCREENSHOTS / "review-sources.png"), full_page=True)
        finally:
            browser.close()

    assert _state(db, seeded.rise) == ("acked", [("ack", note, "web")])
    assert errors == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"], errors
    assert all(url.startswith(live_url) or url.startswith("data:") for url in requested), requested


def _state(db: Database, alert_id: int) -> tuple[str, list[tuple[str, str | None, str | None]]]:
    with db.session() as s:
        status = get_alert(s, alert_id).status
        trail = [(e.action, e.note, e.actor) for e in alert_events(s, alert_id) if e.action != "raised"]
    return status, trail
