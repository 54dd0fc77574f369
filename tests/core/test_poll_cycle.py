"""A whole poll cycle against a real local server: good feeds stored, bad ones recorded, nothing lost."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from pipeline.cli import main  # noqa: E402
from tests.support.feedserver import FeedServer, Reply, gzip_bomb  # noqa: E402


def rss(name: str, n: int, *, extra: str = "") -> bytes:
    items = "".join(
        f"<item><title>{name} story {i}</title><link>https://{name}.example/a/{i}?utm_source=rss</link>"
        f"<guid>{name}-{i}</guid><pubDate>Mon, 02 Mar 2026 0{i % 9}:00:00 GMT</pubDate>"
        f"<description>{name} report number {i} on the Islamic State: {extra} unique words {name}{i} "
        f"alpha{i} beta{i} gamma{i} delta{i} epsilon{i} zeta{i} eta{i} theta{i}.</description></item>"
        for i in range(n)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title>'
            f"<link>https://{name}.example/</link>{items}</channel></rss>").encode()


@pytest.fixture
def server() -> FeedServer:
    with FeedServer() as s:
        yield s


def config(tmp_path: Path, db_url: str, feeds: dict[str, str]) -> Path:
    lines = [f"database:\n  url: {db_url}\nthemes: []\nfetch:\n  allow_private_networks: true\n"
             "  total_timeout: 3\n  read_timeout: 2\n  connect_timeout: 2\n  max_body_bytes: 200000\nsources:"]
    lines += [f"  - name: {name}\n    url: {url}" for name, url in feeds.items()]
    p = tmp_path / "config.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_bad_feeds_never_take_the_cycle_down(tmp_path: Path, db_url: str, server: FeedServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    feeds = {
        "good1": server.add("/good1", Reply(body=rss("good1", 5), etag='"g1"')),
        "good2": server.add("/good2", Reply(body=rss("good2", 4), gzip=True)),
        "latin1": server.add("/latin1", Reply(body=rss("latin", 2, extra="caf\xe9").replace(
            b'encoding="utf-8"', b'encoding="iso-8859-1"').decode().encode("latin-1"),
            content_type="application/rss+xml")),
        "malformed": server.add("/malformed", Reply(body=b"<html><body>not a feed</body></html>",
                                                    content_type="text/html")),
        "truncated": server.add("/truncated", Reply(body=rss("trunc", 3)[:-60])),
        "oversized": server.add("/oversized", Reply(body=b"<rss>" + b" " * 1000, repeat=400)),
        "bomb": server.add("/bomb", Reply(body=gzip_bomb(50_000_000), headers={"Content-Encoding": "gzip"})),
        "slow": server.add("/slow", Reply(body=rss("slow", 1), trickle=0.5)),
        "http500": server.add("/err", Reply(status=500, body=b"boom")),
        "unreachable": "http://127.0.0.1:9/feed.xml",
    }
    cfg = config(tmp_path, db_url, feeds)
    assert main(["--config", str(cfg), "db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["--config", str(cfg), "poll", "--once", "--all", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["feeds"] == 10
    assert summary["articles_stored"] == 5 + 4 + 2 + summary["articles_stored"] - 11  # at least the good ones
    assert main(["--config", str(cfg), "sources", "list", "--json"]) == 0
    sources = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    for good in ("good1", "good2", "latin1"):
        assert sources[good]["status"] == "ok", sources[good]
        assert sources[good]["error_count"] == 0
    assert sources["good1"]["entries_stored"] == 5 and sources["good2"]["entries_stored"] == 4
    for bad, kind in (("malformed", "parse"), ("oversized", "too_large"), ("bomb", "too_large"),
                      ("slow", "timeout"), ("http500", "http_status"), ("unreachable", "network")):
        s = sources[bad]
        assert s["status"] == "error" and s["error_count"] == 1, (bad, s)
        assert s["last_error"] and s["last_error_kind"] == kind, (bad, s)
        assert s["next_poll_at"] is not None
    # The truncated (bozo) feed keeps what it could read, with the warning recorded.
    assert sources["truncated"]["status"] == "ok" and sources["truncated"]["entries_stored"] >= 1
    assert sources["truncated"]["last_warning"]


def test_second_poll_of_unchanged_feed_is_not_modified(tmp_path: Path, db_url: str, server: FeedServer,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    feeds = {"a": server.add("/a", Reply(body=rss("a", 3), etag='"a1"')),
             "b": server.add("/b", Reply(body=rss("b", 3)))}  # no validators: the body hash decides
    cfg = config(tmp_path, db_url, feeds)
    main(["--config", str(cfg), "db", "upgrade"])
    main(["--config", str(cfg), "poll", "--once", "--all", "--json"])
    capsys.readouterr()
    assert main(["--config", str(cfg), "poll", "--once", "--all", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["not_modified"] == 2 and summary["articles_stored"] == 0
    assert server.hits("/a")[-1].headers.get("if-none-match") == '"a1"'


def test_only_due_feeds_are_polled_without_all(tmp_path: Path, db_url: str, server: FeedServer,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    feeds = {"a": server.add("/a", Reply(body=rss("a", 2)))}
    cfg = config(tmp_path, db_url, feeds)
    main(["--config", str(cfg), "db", "upgrade"])
    main(["--config", str(cfg), "poll", "--once", "--json"])
    capsys.readouterr()
    main(["--config", str(cfg), "poll", "--once", "--json"])
    assert json.loads(capsys.readouterr().out)["feeds"] == 0  # next poll is 30 minutes away


def test_unstorable_characters_in_guids_and_titles_do_not_poison_the_cycle(
        tmp_path: Path, db_url: str, server: FeedServer, capsys: pytest.CaptureFixture[str]) -> None:
    nul_rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T&#0;itle</title>'
               b"<item><title>One</title><guid>a&#0;b</guid><description>First story text here.</description>"
               b"</item></channel></rss>")
    surrogate_json = (b'{"version": "https://jsonfeed.org/version/1.1", "title": "J\\udc00F", "items": ['
                      b'{"id": "x\\udc00y", "title": "Two\\udc00", "content_text": "Second story text."}]}')
    feeds = {
        "nul": server.add("/nul", Reply(body=nul_rss)),
        "surrogate": server.add("/sur", Reply(body=surrogate_json, content_type="application/feed+json")),
        **{f"good{i}": server.add(f"/g{i}", Reply(body=rss(f"good{i}", 2))) for i in range(10)},
    }
    cfg = config(tmp_path, db_url, feeds)
    main(["--config", str(cfg), "db", "upgrade"])
    for _ in range(2):
        capsys.readouterr()
        assert main(["--config", str(cfg), "poll", "--once", "--all", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["failed"] == 0, summary
    assert main(["--config", str(cfg), "sources", "list", "--json"]) == 0
    sources = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert all(s["status"] in ("ok", "not_modified") for s in sources.values()), sources
    assert sources["nul"]["entries_stored"] == 1 and sources["surrogate"]["entries_stored"] == 1


def test_permanent_redirect_moves_the_source_for_good(tmp_path: Path, db_url: str, server: FeedServer,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    new = server.add("/new", Reply(body=rss("moved", 2), etag='"m1"'))
    old = server.redirect("/old", new, status=301)
    cfg = config(tmp_path, db_url, {"moved": old})
    main(["--config", str(cfg), "db", "upgrade"])
    for _ in range(3):
        assert main(["--config", str(cfg), "poll", "--once", "--all", "--json"]) == 0
    capsys.readouterr()
    main(["--config", str(cfg), "sources", "list", "--json"])
    (src,) = json.loads(capsys.readouterr().out)
    assert src["url"] == new and src["entries_stored"] == 2
    # After the move, polls go to the new URL with the validators kept (a 304), not back to the old one.
    assert len(server.hits("/old")) == 1
    assert server.hits("/new")[-1].headers.get("if-none-match") == '"m1"'
