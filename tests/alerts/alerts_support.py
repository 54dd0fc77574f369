"""Real local servers and small factories for the alert delivery tests.

``Receiver`` is a real HTTP server on 127.0.0.1 that can be down (not listening on its port yet), answer
from a plan (a status per request, or ``HANG``: read the request and never answer), and records every
request it read. ``SmtpSink`` is a real SMTP server (aiosmtpd) that keeps every message and can refuse
recipients.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from alembic import command

from pipeline.alerts.values import AlertIntent
from pipeline.storage.db import Database
from pipeline.storage.migrate import alembic_config

HANG = "hang"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Hit:
    """One request the receiver read."""

    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when read
    status: int | None  # what it answered (None: it hung)


class Receiver:
    """A programmable webhook receiver."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.plan: deque[int | str] = deque()
        self.default: int | str = 200
        self.reply_headers: dict[str, str] = {}
        self.hits: list[Hit] = []
        self.release = threading.Event()  # set to free hanging handlers
        self.got = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.got:
                    action = receiver.plan.popleft() if receiver.plan else receiver.default
                    hit = Hit({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(),
                              None if action == HANG else int(action))
                    receiver.hits.append(hit)
                    receiver.got.notify_all()
                if action == HANG:
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                payload = b'{"ok":true}' if int(action) < 300 else b"receiver error"
                self.send_response(int(action))
                for k, v in receiver.reply_headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 10) -> bool:
        with self.got:
            return self.got.wait_for(lambda: len(self.hits) >= count, timeout)

    @property
    def accepted(self) -> list[Hit]:
        return [h for h in self.hits if h.status is not None and 200 <= h.status < 300]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)))
        await asyncio.sleep(0)
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1 keeping (from, to, raw bytes) of every message."""

    port: int = field(default_factory=free_port)
    refuse: set[str] = field(default_factory=set)
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    _controller: Controller | None = None

    def start(self) -> SmtpSink:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def intent(theme: str = "returning_fighters", day: int = 0, *, direction: str = "rise", severity: str = "warning",
           title: str | None = None, kind: str = "theme") -> AlertIntent:
    """An alert intent for window ``T0`` day + ``day``."""
    start = T0.replace(hour=0) + timedelta(days=day)
    explanation: dict[str, Any] = {"method": "cusum", "x": 14, "n": 160, "p0": 0.021, "s": 5.25, "threshold": 4.0}
    if title is not None:
        explanation["top_articles"] = [{"title": title, "url": "https://news.example/a1", "source": "Example",
                                        "published_at": "2024-05-01T06:00:00Z", "score": 0.9}]
    return AlertIntent(
        kind=kind,  # type: ignore[arg-type]
        theme=theme, direction=direction, severity=severity,  # type: ignore[arg-type]
        window_start=start, window_end=start + timedelta(days=1), onset=start - timedelta(days=1),
        observed=14 / 160, expected=0.021, health_flag=False, health_reason=None, explanation=explanation,
    )


def webhook(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "webhook", "url": url, "secret": SECRET, "timeout": "2s", **extra}


def email(name: str, port: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "email", "smtp_host": "127.0.0.1", "smtp_port": port,
            "sender": "Monitor <monitor@example.org>", "to": ["analyst@example.org"], "timeout": "2s", **extra}


def stamp_head(db: Database) -> None:
    """Mark tables made by create_all as migrated, so commands that check the revision accept them."""
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "head")
