"""A farm of generated RSS 2.0 feeds served on 127.0.0.1, for benchmarks.

N feeds x M items (default 200 x 50).  Each item has a distinct title, link and guid, a pubDate, and a
1-3 KB HTML description composed from a word list by a seeded RNG, so items are realistic in size
and shape yet distinct enough that near-duplicate detection keeps them apart.  Everything is
deterministic for a given seed.

The server is a small asyncio HTTP/1.1 server (keep-alive, pre-rendered bodies, gzip when asked,
ETag and Last-Modified with 304 answers) running in its own process, so it neither shares the GIL
with the client being measured nor becomes the bottleneck.  Extra endpoints:

- ``GET /_stats``: JSON counts of requests, 200s and 304s (and bytes sent) since the start.
- ``GET /_advance?items=K&feeds=F``: the first F feeds (default all) gain K new items (default 5),
  dropping as many old ones, and get new validators: the next poll sees real changes.

Use from another script::

    from feed_farm import start_farm
    with start_farm(feeds=200, items=50) as farm:
        farm.feed_urls      # tuple of http://127.0.0.1:PORT/feeds/N.xml
        farm.stats()        # {"requests": ..., "ok": ..., "not_modified": ...}
        farm.advance(items=5)

Run alone: ``python bench/feed_farm.py --feeds 200 --items 50 --port 8765`` (Ctrl-C to stop).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import multiprocessing
import random
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

# Plain news prose plus the security vocabulary the theme rules look for.
_WORD_TEXT = """
the a an of to in on for with by from at as after before during over under about against between into
through across near amid despite while when where which that this these those its their his her our
government ministry officials police army forces military troops authorities agency council court
parliament minister president spokesperson analysts residents villagers witnesses reporters sources
said reported announced confirmed denied warned urged claimed stated added noted described estimated
attack attacks attacked strike strikes explosion blast bombing shelling gunfire clashes raid ambush
protest protests demonstration rally unrest riot curfew arrest arrests detained released charged
cyber breach ransomware hackers malware outage leak phishing vulnerability intrusion espionage
flood floods drought wildfire earthquake storm cyclone landslide heatwave evacuation shelter aid
outbreak cholera measles virus vaccine hospital clinic patients cases deaths injured wounded killed
election vote ballot campaign opposition coalition referendum sanctions ceasefire talks agreement
border crossing refugees migrants displaced camp convoy checkpoint port airport highway bridge
pipeline power grid fuel shortage prices inflation market currency trade exports imports harvest
water food supplies medicine schools roads district province region capital city town village coast
north south east west central northern southern eastern western local national international regional
new old major minor several many few dozens hundreds thousands early late recent ongoing continued
heavy light serious critical fragile tense calm uncertain rapid slow sudden gradual widespread limited
monday tuesday wednesday thursday friday saturday sunday morning evening night week month year
first second third last next previous following final initial further additional separate
security safety emergency crisis response investigation inquiry report statement warning alert
people children families workers farmers students traders fishermen drivers doctors nurses volunteers
increase decrease rise fall surge drop spike decline growth recovery damage losses costs risks threats
"""
WORDS = tuple(_WORD_TEXT.split())

CHANNEL_START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 20))
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", ";", "!"])


def _item(seed: int, feed: int, number: int) -> str:
    """Item ``number`` of ``feed`` (numbers only grow; a higher number is a newer item)."""
    rng = random.Random(f"{seed}/{feed}/{number}")
    title = " ".join(rng.choices(WORDS, k=rng.randint(6, 11))).capitalize()
    slug = "-".join(title.lower().split()[:6])
    link = f"https://news{feed}.example.com/{number // 100}/{slug}-{number}.html"
    paragraphs: list[str] = []
    target = rng.randint(1000, 3000)
    size = 0
    while size < target:
        text = " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
        if rng.random() < 0.3:  # some inline markup, as real descriptions have
            cut = text.find(" ", len(text) // 2)
            text = f'{text[:cut]} <a href="{link}#p{len(paragraphs)}">{text[cut + 1 : cut + 30]}</a>{text[cut + 30 :]}'
        paragraphs.append(f"<p>{text}</p>")
        size += len(paragraphs[-1])
    published = CHANNEL_START + timedelta(minutes=37 * number)
    return (
        "<item>"
        f"<title>{escape(title)}</title>"
        f"<link>{escape(link)}</link>"
        f'<guid isPermaLink="false">farm-{seed}-{feed}-{number}</guid>'
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
        f"<category>{rng.choice(['world', 'security', 'health', 'economy', 'climate', 'technology'])}</category>"
        f"<description>{escape(''.join(paragraphs))}</description>"
        "</item>"
    )


def render_feed(seed: int, feed: int, newest: int, items: int) -> bytes:
    """The RSS document of ``feed`` holding items ``newest - items + 1 .. newest``, newest first."""
    built = CHANNEL_START + timedelta(minutes=37 * newest)
    body = "".join(_item(seed, feed, n) for n in range(newest, newest - items, -1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Farm feed {feed}</title><link>https://news{feed}.example.com/</link>"
        f"<description>Generated feed {feed} for benchmarks</description><language>en</language>"
        f"<lastBuildDate>{format_datetime(built, usegmt=True)}</lastBuildDate>{body}</channel></rss>\n"
    ).encode()


@dataclass
class _Page:
    """One feed, pre-rendered: header blocks and bodies ready to write."""

    ok_plain: bytes = b""
    ok_gzip: bytes = b""
    not_modified: bytes = b""
    etag: str = ""
    last_modified: str = ""


@dataclass
class _FarmState:
    seed: int
    items: int
    use_gzip: bool
    newest: list[int] = field(default_factory=list)
    pages: list[_Page] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0, "ok": 0, "not_modified": 0, "bytes": 0})

    def render(self, feed: int) -> None:
        body = render_feed(self.seed, feed, self.newest[feed], self.items)
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        last_modified = format_datetime(CHANNEL_START + timedelta(minutes=37 * self.newest[feed]), usegmt=True)
        common = (
            f"ETag: {etag}\r\nLast-Modified: {last_modified}\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
        )
        zipped = gzip.compress(body, compresslevel=6, mtime=0)
        self.pages[feed] = _Page(
            ok_plain=f"HTTP/1.1 200 OK\r\n{common}Content-Length: {len(body)}\r\n\r\n".encode() + body,
            ok_gzip=(
                f"HTTP/1.1 200 OK\r\n{common}Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
                f"Content-Length: {len(zipped)}\r\n\r\n"
            ).encode()
            + zipped,
            not_modified=(
                f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nLast-Modified: {last_modified}\r\n\r\n"
            ).encode(),
            etag=etag,
            last_modified=last_modified,
        )

    def build(self, feeds: int) -> None:
        self.newest = [self.items - 1] * feeds
        self.pages = [_Page() for _ in range(feeds)]
        for feed in range(feeds):
            self.render(feed)


def _simple(status: str, body: bytes, content_type: str = "text/plain") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


async def _handle(state: _FarmState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = [*lines[0].split(" "), "", "", ""][:3]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            writer.write(_respond(state, method, target, headers))
            await writer.drain()
            connection = headers.get("connection", "").lower()
            if connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive"):
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


def _respond(state: _FarmState, method: str, target: str, headers: dict[str, str]) -> bytes:
    state.stats["requests"] += 1
    parts = urlsplit(target)
    if parts.path == "/_stats":
        return _simple("200 OK", json.dumps(state.stats).encode(), "application/json")
    if parts.path == "/_advance":
        query = parse_qs(parts.query)
        count = int(query.get("items", ["5"])[0])
        feeds = int(query.get("feeds", [str(len(state.pages))])[0])
        for feed in range(min(feeds, len(state.pages))):
            state.newest[feed] += count
            state.render(feed)
        return _simple("200 OK", b"advanced\n")
    name = parts.path.removeprefix("/feeds/").removesuffix(".xml")
    if method not in ("GET", "HEAD") or not name.isdigit() or int(name) >= len(state.pages):
        return _simple("404 Not Found", b"not found\n")
    page = state.pages[int(name)]
    if headers.get("if-none-match") == page.etag or (
        "if-none-match" not in headers and headers.get("if-modified-since") == page.last_modified
    ):
        state.stats["not_modified"] += 1
        return page.not_modified
    state.stats["ok"] += 1
    data = page.ok_gzip if state.use_gzip and "gzip" in headers.get("accept-encoding", "") else page.ok_plain
    state.stats["bytes"] += len(data)
    if method == "HEAD":
        return data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    return data


async def _serve(state: _FarmState, host: str, port: int, ready: Connection | None) -> None:
    server = await asyncio.start_server(lambda r, w: _handle(state, r, w), host, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    if ready is not None:
        ready.send(bound)
        ready.close()
    else:
        print(f"feed farm: {len(state.pages)} feeds x {state.items} items at http://{host}:{bound}/feeds/0.xml ...")
    async with server:
        await server.serve_forever()


def _serve_process(feeds: int, items: int, seed: int, use_gzip: bool, host: str, port: int, ready: Connection) -> None:
    state = _FarmState(seed=seed, items=items, use_gzip=use_gzip)
    state.build(feeds)
    asyncio.run(_serve(state, host, port, ready))


@dataclass
class Farm:
    """A running farm; stop it with :meth:`stop` or by leaving the ``with`` block."""

    base_url: str
    feed_urls: tuple[str, ...]
    process: BaseProcess

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as response:  # 127.0.0.1 only
            data: bytes = response.read()
            return data

    def stats(self) -> dict[str, int]:
        """Requests, 200s (``ok``), 304s (``not_modified``) and body bytes sent so far."""
        result: dict[str, int] = json.loads(self._get("/_stats"))
        return result

    def advance(self, items: int = 5, feeds: int | None = None) -> None:
        """Give the first ``feeds`` feeds (default all) ``items`` new items each."""
        self._get(f"/_advance?items={items}" + ("" if feeds is None else f"&feeds={feeds}"))

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)

    def __enter__(self) -> Farm:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start_farm(
    feeds: int = 200, items: int = 50, *, seed: int = 2025, use_gzip: bool = True, host: str = "127.0.0.1"
) -> Farm:
    """Start the farm in a separate process; returns once it is listening."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    parent_end, child_end = context.Pipe(duplex=False)
    process = context.Process(
        target=_serve_process,
        args=(feeds, items, seed, use_gzip, host, 0, child_end),
        name="feed-farm",
        daemon=True,
    )
    process.start()
    child_end.close()
    if not parent_end.poll(120):
        process.terminate()
        raise RuntimeError("feed farm did not start within 120 s")
    port = parent_end.recv()
    base = f"http://{host}:{port}"
    return Farm(base_url=base, feed_urls=tuple(f"{base}/feeds/{i}.xml" for i in range(feeds)), process=process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-gzip", action="store_true", help="never compress bodies")
    args = parser.parse_args()
    state = _FarmState(seed=args.seed, items=args.items, use_gzip=not args.no_gzip)
    state.build(args.feeds)
    sizes = [len(p.ok_plain) for p in state.pages]
    print(f"feed farm: {sum(sizes) / 1e6:.1f} MB of feeds, {sum(sizes) / len(sizes) / 1e3:.0f} KB each")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(state, args.host, args.port, None))


if __name__ == "__main__":
    main()
