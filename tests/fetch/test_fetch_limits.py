"""Size cap, timeouts and the deadline, against the real local server; wall time is bounded."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from pipeline.fetch import FetchOutcome, FetchSettings, fetch_all_sync
from pipeline.types import SourceForUpdate
from tests.support.feedserver import FeedServer, Reply, gzip_bomb

CAP = 1024 * 1024


def fetch_one(url: str, settings: FetchSettings) -> tuple[FetchOutcome, float]:
    started = time.monotonic()
    [result] = fetch_all_sync([SourceForUpdate(id=1, name="f", url=url)], settings)
    return result, time.monotonic() - started


@pytest.fixture
def capped(settings: FetchSettings) -> FetchSettings:
    return settings.model_copy(update={"max_body_bytes": CAP})


def test_body_at_the_cap_is_accepted(feed_server: FeedServer, capped: FetchSettings) -> None:
    plain = feed_server.add("/plain", Reply(body=b"a" * CAP))
    zipped = feed_server.add("/zipped", Reply(body=b"b" * CAP, gzip=True))
    assert fetch_one(plain, capped)[0].body == b"a" * CAP
    assert fetch_one(zipped, capped)[0].body == b"b" * CAP


def test_declared_length_over_the_cap_is_refused(feed_server: FeedServer, capped: FetchSettings) -> None:
    url = feed_server.add("/big", Reply(body=b"x" * (CAP + 1)))
    result, _ = fetch_one(url, capped)
    assert (result.error_kind, result.body, result.status) == ("too_large", None, None)
    assert result.error is not None and url in result.error and str(CAP) in result.error


def test_streamed_body_over_the_cap_stops_reading(feed_server: FeedServer, capped: FetchSettings) -> None:
    # 100 MiB with no Content-Length: only counting while streaming can catch it.
    url = feed_server.add("/endless", Reply(body=b"y" * 65536, repeat=1600, length=False))
    result, elapsed = fetch_one(url, capped)
    assert result.error_kind == "too_large"
    assert result.error is not None and "stopped reading" in result.error
    assert elapsed < 5
    time.sleep(0.2)  # let the server notice the hang-up
    assert feed_server.sent["/endless"] < 30 * CAP  # far from the 100 MiB it would have sent


def test_gzip_bomb_is_refused_on_decoded_size(feed_server: FeedServer, capped: FetchSettings) -> None:
    bomb = gzip_bomb(64 * CAP)  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < CAP
    url = feed_server.add("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    result, elapsed = fetch_one(url, capped)
    assert result.error_kind == "too_large"
    assert result.error is not None and "decoded" in result.error and url in result.error
    assert elapsed < 5


def test_hang_hits_the_read_timeout(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/hang", Reply(hang=True))
    result, elapsed = fetch_one(url, settings.model_copy(update={"read_timeout": 0.5, "total_timeout": 10}))
    assert result.error_kind == "timeout"
    assert result.error is not None and "read timeout" in result.error and url in result.error
    assert 0.4 < elapsed < 3


def test_trickle_hits_the_total_deadline(feed_server: FeedServer, settings: FetchSettings) -> None:
    # A byte every 50 ms never trips the 2 s read timeout; only the total deadline ends it.
    url = feed_server.add("/trickle", Reply(body=b"<rss>", trickle=0.05))
    result, elapsed = fetch_one(url, settings.model_copy(update={"read_timeout": 2, "total_timeout": 1.0}))
    assert result.error_kind == "timeout"
    assert result.error is not None and "total deadline" in result.error
    assert 0.9 < elapsed < 3
    assert 0.9 < result.elapsed < 3


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A listening port whose accept backlog is full, so new connections stall in the handshake."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(("127.0.0.1", port))
        stalls = False
    except TimeoutError:
        stalls = True
    finally:
        probe.close()
    if not stalls:
        for s in [*fillers, listener]:
            s.close()
        pytest.skip("this kernel completes connects beyond a full backlog; cannot stall a connect locally")
    yield port
    for s in [*fillers, listener]:
        s.close()


def test_stalled_connect_hits_the_connect_timeout(stalled_port: int, settings: FetchSettings) -> None:
    url = f"http://127.0.0.1:{stalled_port}/feed"
    result, elapsed = fetch_one(url, settings.model_copy(update={"connect_timeout": 0.5, "total_timeout": 10}))
    assert result.error_kind == "timeout"
    assert result.error is not None and "connect timeout" in result.error
    assert 0.4 < elapsed < 3


def test_slow_server_within_limits_is_fine(feed_server: FeedServer, settings: FetchSettings) -> None:
    url = feed_server.add("/slow", Reply(body=b"<rss/>", delay=0.3))
    result, _ = fetch_one(url, settings)
    assert result.error is None and result.body == b"<rss/>"
    assert result.elapsed >= 0.3
