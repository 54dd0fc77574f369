"""Concurrency limits measured at the server, streaming of results, and bad feeds among good ones."""

from __future__ import annotations

import asyncio
import socket
import time
from contextlib import aclosing

import pytest

from pipeline.fetch import FetchSettings, fetch_all, fetch_all_sync
from pipeline.types import SourceForUpdate
from tests.support.feedserver import FeedServer, Reply


def slow_feeds(server: FeedServer, count: int, host: str = "127.0.0.1", delay: float = 0.15) -> list[SourceForUpdate]:
    sources = []
    for i in range(count):
        path = f"/{host}/{i}"
        server.add(path, Reply(body=f"<rss>{i}</rss>".encode(), delay=delay))
        sources.append(SourceForUpdate(id=i, name=path, url=server.url(path, host=host)))
    return sources


def test_global_limit_bounds_requests_in_flight(feed_server: FeedServer, settings: FetchSettings) -> None:
    sources = slow_feeds(feed_server, 12)
    limited = settings.model_copy(update={"max_concurrency": 3, "max_per_host": 100})
    results = fetch_all_sync(sources, limited)
    assert all(r.error is None for r in results)
    assert feed_server.max_in_flight == 3  # never more, and the limit is actually used


def test_queued_fetches_wait_for_a_slot_not_against_their_deadlines(
    feed_server: FeedServer, settings: FetchSettings
) -> None:
    # 16 fetches of 0.15 s, 2 at a time, take ~1.2 s: longer than the pool timeout and the total
    # deadline, which must only count from the moment a fetch gets its slot.
    sources = slow_feeds(feed_server, 16)
    tight = settings.model_copy(
        update={"max_concurrency": 2, "max_per_host": 100, "pool_timeout": 0.5, "total_timeout": 1.0}
    )
    started = time.monotonic()
    results = fetch_all_sync(sources, tight)
    assert time.monotonic() - started > 1.1
    assert [r.error for r in results] == [None] * 16
    assert all(r.elapsed < 1.0 for r in results)


def test_per_host_limit_bounds_requests_in_flight(feed_server: FeedServer, settings: FetchSettings) -> None:
    sources = slow_feeds(feed_server, 10)
    limited = settings.model_copy(update={"max_concurrency": 50, "max_per_host": 2})
    results = fetch_all_sync(sources, limited)
    assert all(r.error is None for r in results)
    assert feed_server.max_in_flight == 2


def test_per_host_limit_is_per_host(feed_server: FeedServer, settings: FetchSettings) -> None:
    if socket.gethostbyname("localhost") != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 here")
    sources = slow_feeds(feed_server, 8, host="127.0.0.1") + slow_feeds(feed_server, 8, host="localhost")
    sources = [SourceForUpdate(id=i, name=s.name, url=s.url) for i, s in enumerate(sources)]
    limited = settings.model_copy(update={"max_concurrency": 50, "max_per_host": 2})
    results = fetch_all_sync(sources, limited)
    assert all(r.error is None for r in results)
    by_host = {host.split(":")[0]: n for host, n in feed_server.max_in_flight_by_host.items()}
    assert by_host == {"127.0.0.1": 2, "localhost": 2}
    assert feed_server.max_in_flight > 2  # the two hosts ran side by side


def test_many_feeds_with_a_few_bad_ones(feed_server: FeedServer, settings: FetchSettings) -> None:
    good = {}
    for i in range(40):
        good[i] = f"<rss><item>{i}</item></rss>".encode()
        feed_server.add(f"/good/{i}", Reply(body=good[i]))
    feed_server.add("/bad/404", Reply(status=404))
    feed_server.add("/bad/reset", Reply(reset=True))
    feed_server.add("/bad/hang", Reply(hang=True))
    feed_server.add("/bad/500", Reply(status=500))
    urls = [feed_server.url(f"/good/{i}") for i in range(40)]
    bad = [feed_server.url(p) for p in ("/bad/404", "/bad/reset", "/bad/hang", "/bad/500")]
    bad += ["not a url", "http://127.0.0.1:1/closed"]
    sources = [SourceForUpdate(id=i, name="f", url=u) for i, u in enumerate(urls + bad)]
    quick = settings.model_copy(update={"read_timeout": 0.5, "max_concurrency": 8})
    results = fetch_all_sync(sources, quick)
    assert [r.source_id for r in results] == list(range(len(sources)))  # sync wrapper keeps input order
    for i in range(40):
        assert results[i].error is None and results[i].body == good[i]
    assert [r.error_kind for r in results[40:]] == [
        "http_status", "network", "timeout", "http_status", "invalid_url", "network",
    ]  # fmt: skip
    assert all(r.error is not None and r.body is None for r in results[40:])


def test_results_stream_as_they_complete(feed_server: FeedServer, settings: FetchSettings) -> None:
    slow = feed_server.add("/slow", Reply(body=b"slow", delay=0.6))
    fast = feed_server.add("/fast", Reply(body=b"fast"))
    sources = [SourceForUpdate(id=1, name="slow", url=slow), SourceForUpdate(id=2, name="fast", url=fast)]

    async def collect() -> list[tuple[int, float]]:
        started = time.monotonic()
        return [(r.source_id, time.monotonic() - started) async for r in fetch_all(sources, settings)]

    arrivals = asyncio.run(collect())
    assert [source_id for source_id, _ in arrivals] == [2, 1]
    assert arrivals[0][1] < 0.5  # the fast one was handed over before the slow one finished


def test_stopping_early_cancels_the_rest(feed_server: FeedServer, settings: FetchSettings) -> None:
    fast = feed_server.add("/fast", Reply(body=b"fast"))
    feed_server.add("/hang", Reply(hang=True))
    sources = [SourceForUpdate(id=0, name="fast", url=fast)]
    sources += [SourceForUpdate(id=i, name="hang", url=feed_server.url("/hang")) for i in range(1, 5)]
    patient = settings.model_copy(update={"read_timeout": 30, "total_timeout": 60})

    async def first() -> tuple[int, int]:
        source_id = -1
        async with aclosing(fetch_all(sources, patient)) as stream:
            async for result in stream:
                source_id = result.source_id
                break
        # Closing the stream cancelled and awaited the hanging fetches: only this task is left.
        return source_id, len(asyncio.all_tasks())

    started = time.monotonic()
    assert asyncio.run(first()) == (0, 1)
    assert time.monotonic() - started < 5


def test_empty_cycle() -> None:
    assert fetch_all_sync([], FetchSettings()) == []
