"""A real, programmable HTTP/1.1 server on 127.0.0.1 for fetch tests and benchmarks.

It runs in a background thread (``ThreadingHTTPServer``, one thread per connection, keep-alive on),
on a free port, and answers each path from a list of :class:`Reply` values: the first request to a
path gets the first reply, the next one the next, and the last reply repeats.  Unknown paths get 404.
It records every request (path, lower-cased headers) and measures how many requests were in flight
at once, overall and per ``Host`` header, so tests can check client-side concurrency limits.

What a reply can do: any status, headers and body; conditional GET (``etag`` / ``last_modified``
answer a matching If-None-Match / If-Modified-Since with 304); ``gzip`` compression (or a ready-made
bomb, see :func:`gzip_bomb`); a body repeated many times without holding it in memory; no
Content-Length (read until close); a ``delay`` before answering; an endless ``trickle`` of bytes; a
``hang`` (read the request, never answer); a ``reset`` (close with a TCP RST).  Redirect chains and
loops are plain 3xx replies, see :meth:`FeedServer.redirect`.

Usage::

    with FeedServer() as server:
        server.add("/feed.xml", Reply(body=b"<rss/>", etag='"v1"'))
        server.add("/flaky", Reply(status=503, headers={"Retry-After": "5"}), Reply(body=b"ok"))
        url = server.url("/feed.xml")

As a pytest fixture (see tests/fetch/conftest.py)::

    @pytest.fixture
    def feed_server() -> Iterator[FeedServer]:
        with FeedServer() as server:
            yield server
"""

from __future__ import annotations

import gzip
import socket
import struct
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Reply:
    """One programmed answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None  # sent, and a matching If-None-Match gets 304
    last_modified: str | None = None  # sent, and an If-Modified-Since not older gets 304
    gzip: bool = False  # compress body and send Content-Encoding: gzip
    repeat: int = 1  # the body is sent this many times over (large bodies from a small chunk)
    length: bool = True  # send Content-Length; False: no length, connection closed at the end
    delay: float = 0.0  # seconds to wait before answering
    trickle: float | None = None  # send the body, then spaces, forever, one byte every N seconds
    hang: bool = False  # read the request, never answer (until the server stops)
    reset: bool = False  # read the request, then close the connection with a TCP RST


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]  # lower-cased names


@lru_cache(maxsize=8)
def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzip-compressed (cached: tests reuse the same bodies)."""
    return gzip.compress(data, compresslevel=6, mtime=0)


@lru_cache(maxsize=4)
def gzip_bomb(decoded_size: int) -> bytes:
    """A small gzip stream that inflates to ``decoded_size`` zero bytes (serve with Content-Encoding: gzip)."""
    return gzip.compress(b"\0" * decoded_size, compresslevel=9, mtime=0)


class FeedServer:
    """The server; start it with ``with`` or :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._routes: dict[str, list[Reply]] = {}
        self._served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self.connections = 0  # TCP connections accepted
        self.sent: Counter[str] = Counter()  # body bytes written per path
        self.in_flight = 0
        self.max_in_flight = 0
        self._host_in_flight: Counter[str] = Counter()
        self.max_in_flight_by_host: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.feed_server = self
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The absolute URL of ``path`` (``host`` may be another name for 127.0.0.1, e.g. localhost)."""
        return f"http://{host}:{self.port}{path}"

    def start(self) -> FeedServer:
        # A short poll interval makes stop() quick (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="feedserver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases hanging and trickling handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- programming -----------------------------------------------------------------------------
    def add(self, path: str, *replies: Reply) -> str:
        """Answer ``path`` with ``replies`` in turn (the last repeats); returns its URL."""
        if not replies:
            raise ValueError("add() needs at least one Reply")
        with self._lock:
            self._routes[path] = list(replies)
            self._served[path] = 0
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        """Make ``path`` redirect to ``to`` (a path or an absolute URL); returns its URL."""
        return self.add(path, Reply(status=status, headers={"Location": to}))

    def hits(self, path: str) -> list[Request]:
        """The requests received for ``path``."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- used by the handler ---------------------------------------------------------------------
    def _begin(self, request: Request) -> Reply | None:
        host = request.headers.get("host", "")
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._host_in_flight[host] += 1
            self.max_in_flight_by_host[host] = max(self.max_in_flight_by_host[host], self._host_in_flight[host])
            replies = self._routes.get(request.path)
            if replies is None:
                return None
            index = min(self._served[request.path], len(replies) - 1)
            self._served[request.path] += 1
            return replies[index]

    def _end(self, request: Request) -> None:
        with self._lock:
            self.in_flight -= 1
            self._host_in_flight[request.headers.get("host", "")] -= 1

    def _count_sent(self, path: str, n: int) -> None:
        with self._lock:
            self.sent[path] += n


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops handshakes when dozens of fetches open at once.
    request_queue_size = 1024
    feed_server: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up mid-exchange (size caps, timeouts, cancelled fetches) are routine here.
        if not isinstance(sys.exc_info()[1], ConnectionError | OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _not_modified(reply: Reply, headers: dict[str, str]) -> bool:
    if reply.status != 200:
        return False
    if "if-none-match" in headers:  # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
        tags = {t.strip() for t in headers["if-none-match"].split(",")}
        return reply.etag is not None and (reply.etag in tags or "*" in tags)
    if reply.last_modified and "if-modified-since" in headers:
        try:
            return parsedate_to_datetime(headers["if-modified-since"]) >= parsedate_to_datetime(reply.last_modified)
        except (TypeError, ValueError):
            return False
    return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do
    disable_nagle_algorithm = True  # headers and body go out as two writes; don't wait on delayed ACKs

    def setup(self) -> None:
        super().setup()
        assert isinstance(self.server, _Server)
        with self.server.feed_server._lock:
            self.server.feed_server.connections += 1

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        assert isinstance(self.server, _Server)
        server = self.server.feed_server
        request = Request(path=self.path, headers={k.lower(): v for k, v in self.headers.items()})
        reply = server._begin(request)
        try:
            self._answer(server, request, reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. over its size cap): expected
        finally:
            server._end(request)

    def _answer(self, server: FeedServer, request: Request, reply: Reply | None) -> None:
        if reply is None:
            self._send_simple(404, b"not found")
            return
        if reply.delay and server.stopping.wait(reply.delay):
            return
        if reply.hang:
            server.stopping.wait()
            self.close_connection = True
            return
        if reply.reset:
            # Linger 0 turns close into a RST; closing here, before the server's shutdown(SHUT_WR),
            # keeps a polite FIN from going out first.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if _not_modified(reply, request.headers):
            self.send_response(304)
            self._validators(reply)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = gzip_bytes(reply.body) if reply.gzip else reply.body
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        self._validators(reply)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.trickle is not None:
            self._trickle(server, request.path, body, reply.trickle)
            return
        if reply.length:
            self.send_header("Content-Length", str(len(body) * reply.repeat))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for _ in range(reply.repeat):
            self.wfile.write(body)
            server._count_sent(request.path, len(body))

    def _trickle(self, server: FeedServer, path: str, body: bytes, interval: float) -> None:
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        index = 0
        while not server.stopping.is_set():
            byte = body[index : index + 1] or b" "
            self.wfile.write(byte)
            self.wfile.flush()
            server._count_sent(path, 1)
            index += 1
            server.stopping.wait(interval)

    def _validators(self, reply: Reply) -> None:
        if reply.etag:
            self.send_header("ETag", reply.etag)
        if reply.last_modified:
            self.send_header("Last-Modified", reply.last_modified)

    def _send_simple(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
