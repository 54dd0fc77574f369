"""Fetching a cycle's feeds concurrently with one shared httpx client.

Limits: a global semaphore bounds fetches in flight, a per-host-name one bounds fetches to one host;
a fetch takes its host slot first and the global slot second, so fetches queued behind a busy host
never hold global slots idle.  Each fetch has a total deadline (``asyncio.timeout``) covering every
redirect hop, DNS check and the body, on top of httpx's connect/read/write/pool timeouts.  Redirects
are followed here, one hop at a time, so each hop is checked by the URL policy, counted, and a
permanent move reported.  Every failure comes back as data in a :class:`FetchOutcome`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import httpcore
import httpx

from pipeline.errors import BlockedURL, FetchError, FetchTimeout
from pipeline.fetch.body import read_body
from pipeline.fetch.headers import client_headers, conditional_headers, parse_retry_after
from pipeline.fetch.policy import (
    NonPublicPeer,
    PublicPeersOnly,
    Resolver,
    check_destination,
    parse_feed_url,
    system_resolver,
)
from pipeline.fetch.result import ErrorKind, FetchOutcome, InvalidFeedURL, RedirectError, error_kind
from pipeline.fetch.settings import FetchSettings
from pipeline.types import SourceForUpdate

log = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_STATUSES = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context (certifi's CA bundle), built once per process: loading the
    bundle cost every client ~20-40 ms of CPU, i.e. every claimed batch of every cycle."""
    return httpx.create_ssl_context()


def _limits(settings: FetchSettings) -> httpx.Limits:
    return httpx.Limits(max_connections=settings.max_concurrency, max_keepalive_connections=settings.max_concurrency,
                        keepalive_expiry=settings.keepalive_expiry)


def _public_only_transport(settings: FetchSettings) -> httpx.AsyncHTTPTransport:
    """httpx's transport whose connections are refused unless their peer is a public address.

    httpx has no parameter for httpcore's network backend, so the transport's connection pool (the one
    attribute its requests go through) is replaced by one built with the same settings and the guard.
    tests/fetch/test_fetch_rebinding.py fails if a new httpx stops honouring it.
    """
    limits = _limits(settings)
    transport = httpx.AsyncHTTPTransport(verify=_tls_context(), limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_tls_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PublicPeersOnly(),
    )
    return transport


def make_client(settings: FetchSettings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """One HTTP/1.1 keep-alive client for a whole cycle, its pool sized to the concurrency limit.

    Unless private networks are allowed (or a proxy resolves names), every connection's peer address is
    checked too, not only what the host name resolved to first (see :mod:`pipeline.fetch.policy`).
    """
    if transport is None and not settings.allow_private_networks and settings.proxy is None:
        transport = _public_only_transport(settings)
    return httpx.AsyncClient(
        verify=_tls_context(),
        headers=client_headers(settings),
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.write_timeout,
            pool=settings.pool_timeout,
        ),
        limits=_limits(settings),
        follow_redirects=False,  # followed hop by hop in _fetch, see module docstring
        trust_env=False,  # no proxy variables or .netrc credentials leaking into feed requests
        proxy=settings.proxy,
        transport=transport,
    )


class _Limiter:
    """Global and per-host-name concurrency limits for one cycle (one event loop)."""

    def __init__(self, settings: FetchSettings) -> None:
        self._global = asyncio.Semaphore(settings.max_concurrency)
        self._per_host_limit = settings.max_per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self._per_host_limit)
        # Host first, then global: see module docstring.  Both are FIFO, so feeds go in order.
        async with sem, self._global:
            yield


@dataclass(slots=True)
class _Context:
    client: httpx.AsyncClient
    settings: FetchSettings
    clock: Clock
    resolver: Resolver
    limiter: _Limiter


@dataclass(slots=True)
class _Attempt:
    """Mutable progress of one fetch, so a failure can say where it happened."""

    source: SourceForUpdate
    url: str
    started: float | None = None  # monotonic time the first slot was granted
    deadline: float | None = None  # loop time by which the whole fetch must be done
    redirects: list[str] = field(default_factory=list)
    permanent_target: str | None = None
    all_permanent: bool = True

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started


def _describe(exc: BaseException) -> str:
    """The first non-empty message down the exception's cause chain (httpx often wraps an OSError)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def _wrap_httpx(exc: Exception, url: httpx.URL, settings: FetchSettings) -> FetchError:
    """Translate an httpx exception into the project's FetchError family, naming the URL."""
    detail = _describe(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchTimeout(f"GET {url}: connect timeout ({settings.connect_timeout}s)")
    if isinstance(exc, httpx.ReadTimeout):
        return FetchTimeout(f"GET {url}: read timeout (no data for {settings.read_timeout}s)")
    if isinstance(exc, httpx.WriteTimeout):
        return FetchTimeout(f"GET {url}: write timeout ({settings.write_timeout}s)")
    if isinstance(exc, httpx.PoolTimeout):
        return FetchTimeout(f"GET {url}: no connection free in the pool within {settings.pool_timeout}s")
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(f"GET {url}: timeout: {detail}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return InvalidFeedURL(f"GET {url}: invalid URL: {detail}")
    if isinstance(exc, httpx.ConnectError):
        if isinstance(exc.__cause__, NonPublicPeer):
            return BlockedURL(f"GET {url}: {detail} (set allow_private_networks to fetch from private networks)")
        return FetchError(f"GET {url}: cannot connect: {detail}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError(f"GET {url}: server broke the HTTP exchange: {detail}")
    return FetchError(f"GET {url}: network error: {detail}")


async def _fetch(ctx: _Context, attempt: _Attempt) -> FetchOutcome:
    """Follow the source URL to a final response; raise FetchError on any failure."""
    settings = ctx.settings
    source = attempt.source
    url = parse_feed_url(source.url)
    visited = {str(url)}
    request_headers = conditional_headers(source)
    loop = asyncio.get_running_loop()
    for _hop in range(settings.max_redirects + 1):
        attempt.url = str(url)
        async with ctx.limiter.slot(url.host):
            if attempt.deadline is None:  # the clock starts once the fetch may actually run
                attempt.started = time.monotonic()
                attempt.deadline = loop.time() + settings.total_timeout
            try:
                async with asyncio.timeout_at(attempt.deadline):
                    await check_destination(
                        url, allow_private_networks=settings.allow_private_networks, resolver=ctx.resolver
                    )
                    request = ctx.client.build_request("GET", url, headers=request_headers)
                    response = await ctx.client.send(request, stream=True)
                    try:
                        next_url = _redirect_target(response, url)
                        if next_url is None:
                            return await _final(ctx, attempt, response)
                        redirect_status = response.status_code
                    finally:
                        await response.aclose()
            except TimeoutError as exc:
                raise FetchTimeout(
                    f"GET {url}: the fetch did not finish within its total deadline of {settings.total_timeout}s"
                ) from exc
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise _wrap_httpx(exc, url, settings) from exc
        _note_redirect(attempt, redirect_status, next_url)
        if str(next_url) in visited:
            raise RedirectError(f"GET {source.url}: redirect loop ({' -> '.join([source.url, *attempt.redirects])})")
        visited.add(str(next_url))
        url = next_url
    raise RedirectError(f"GET {source.url}: more than {settings.max_redirects} redirects (last to {url})")


def _redirect_target(response: httpx.Response, url: httpx.URL) -> httpx.URL | None:
    """The next URL if ``response`` is a redirect with a Location, else None."""
    if response.status_code not in _REDIRECT_STATUSES or "location" not in response.headers:
        return None
    location = response.headers["location"]
    try:
        target = url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidFeedURL(f"GET {url}: redirect to an invalid Location {location!r}: {exc}") from exc
    return parse_feed_url(str(target.copy_with(fragment=None)))


def _note_redirect(attempt: _Attempt, status: int, target: httpx.URL) -> None:
    attempt.redirects.append(str(target))
    # Only an unbroken chain of permanent hops from the source URL moves the source.
    if attempt.all_permanent and status in _PERMANENT_STATUSES:
        attempt.permanent_target = str(target)
    else:
        attempt.all_permanent = False


async def _final(ctx: _Context, attempt: _Attempt, response: httpx.Response) -> FetchOutcome:
    """Turn the last response of the chain into an outcome (reading the body when there is one)."""
    source = attempt.source
    status = response.status_code
    headers = {name.lower(): value for name, value in response.headers.items()}
    if status == 304:
        return _outcome(
            ctx,
            attempt,
            status=status,
            headers=headers,
            etag=headers.get("etag") or source.etag,
            last_modified=headers.get("last-modified") or source.last_modified,
            body_hash=source.body_hash,
            not_modified=True,
        )
    if not 200 <= status < 300:
        retry_after = (
            parse_retry_after(headers.get("retry-after"), ctx.clock()) if status in _RETRY_AFTER_STATUSES else None
        )
        reason = response.reason_phrase or "error"
        raise FetchError(f"GET {attempt.url}: HTTP {status} {reason}", status=status, retry_after=retry_after)
    body = await read_body(response, limit=ctx.settings.max_body_bytes)
    body_hash = hashlib.sha256(body).hexdigest()
    unchanged = body_hash == source.body_hash
    return _outcome(
        ctx,
        attempt,
        status=status,
        headers=headers,
        body=None if unchanged else body,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        body_hash=body_hash,
        not_modified=unchanged,
    )


def _outcome(
    ctx: _Context,
    attempt: _Attempt,
    *,
    status: int,
    headers: dict[str, str],
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    not_modified: bool,
    body: bytes | None = None,
) -> FetchOutcome:
    moved = attempt.permanent_target
    return FetchOutcome(
        source_id=attempt.source.id,
        url=attempt.url,
        status=status,
        fetched_at=ctx.clock(),
        body=body,
        headers=headers,
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
        not_modified=not_modified,
        elapsed=attempt.elapsed(),
        permanent_redirect=moved if moved != attempt.source.url else None,
        redirects=tuple(attempt.redirects),
    )


def _failure(ctx: _Context, attempt: _Attempt, exc: FetchError, kind: ErrorKind) -> FetchOutcome:
    return FetchOutcome(
        source_id=attempt.source.id,
        url=attempt.url,
        status=exc.status,
        fetched_at=ctx.clock(),
        retry_after=exc.retry_after,
        error=str(exc),
        error_kind=kind.value,
        elapsed=attempt.elapsed(),
        redirects=tuple(attempt.redirects),
    )


async def _fetch_one(ctx: _Context, source: SourceForUpdate) -> FetchOutcome:
    """Fetch one source; never raises (except cancellation): errors are returned as data."""
    attempt = _Attempt(source=source, url=source.url)
    try:
        return await _fetch(ctx, attempt)
    except FetchError as exc:
        return _failure(ctx, attempt, exc, error_kind(exc))
    except Exception as exc:  # a bug must not stop the other feeds of the cycle; log it loudly
        log.exception("fetching source %s (%s) failed unexpectedly", source.id, source.url)
        wrapped = FetchError(f"GET {attempt.url}: unexpected {type(exc).__name__}: {exc}")
        return _failure(ctx, attempt, wrapped, ErrorKind.INTERNAL)


async def _fetch_indexed(
    sources: Sequence[SourceForUpdate],
    settings: FetchSettings,
    *,
    now: Clock | None,
    transport: httpx.AsyncBaseTransport | None,
    resolver: Resolver | None,
) -> AsyncGenerator[tuple[int, FetchOutcome], None]:
    async with make_client(settings, transport) as client:
        ctx = _Context(client, settings, now or utc_now, resolver or system_resolver, _Limiter(settings))

        async def run(index: int, source: SourceForUpdate) -> tuple[int, FetchOutcome]:
            return index, await _fetch_one(ctx, source)

        tasks = [asyncio.create_task(run(i, s)) for i, s in enumerate(sources)]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            # Reached early only if the consumer stopped iterating or was cancelled.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def fetch_all(
    sources: Sequence[SourceForUpdate],
    settings: FetchSettings,
    *,
    now: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
) -> AsyncGenerator[FetchOutcome, None]:
    """Fetch every source concurrently, yielding each outcome as soon as it is complete.

    ``now`` gives timezone-aware UTC times (``fetched_at``, Retry-After dates); ``transport``
    replaces the network (tests); ``resolver`` replaces DNS for the private-address check.
    Nothing is raised for a failed feed.  Stop early with ``contextlib.aclosing`` so the remaining
    fetches are cancelled and the client closed at once.
    """
    stream = _fetch_indexed(sources, settings, now=now, transport=transport, resolver=resolver)
    async with aclosing(stream):  # closing us closes it now, not whenever it is garbage-collected
        async for _index, outcome in stream:
            yield outcome


def fetch_all_sync(
    sources: Sequence[SourceForUpdate],
    settings: FetchSettings,
    *,
    now: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
) -> list[FetchOutcome]:
    """Blocking :func:`fetch_all` for code without an event loop; results in the order of ``sources``."""

    async def collect() -> list[FetchOutcome]:
        results: list[FetchOutcome | None] = [None] * len(sources)
        stream = _fetch_indexed(sources, settings, now=now, transport=transport, resolver=resolver)
        async with aclosing(stream):
            async for index, outcome in stream:
                results[index] = outcome
        return [r for r in results if r is not None]

    return asyncio.run(collect())
