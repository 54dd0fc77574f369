"""Parse many documents at once: in a process pool when there are many, inline when few.

feedparser is pure Python and CPU-bound, so threads would not help; a process
pool uses every core.  Starting one costs about a tenth of a second, which is
only worth paying for a batch, hence the threshold.  Errors come back as
values, so one bad document never stops the others.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pipeline.errors import ParseError
from pipeline.parse.feed import parse_feed
from pipeline.types import ParsedFeed

__all__ = ["DEFAULT_POOL_THRESHOLD", "parse_many"]

log = logging.getLogger(__name__)

DEFAULT_POOL_THRESHOLD = 16

Item = tuple[bytes, Mapping[str, str], str]
_PlainItem = tuple[bytes, dict[str, str], str]


def _parse_one(item: _PlainItem) -> ParsedFeed | ParseError:
    body, headers, url = item
    try:
        return parse_feed(body, headers, url)
    except ParseError as exc:
        return exc
    except Exception as exc:  # a bug tripped by one hostile document must not lose the batch
        return ParseError(f"{url}: unexpected {type(exc).__name__} while parsing: {exc}")


def parse_many(
    items: Sequence[Item],
    workers: int = 0,
    *,
    pool_threshold: int = DEFAULT_POOL_THRESHOLD,
) -> list[ParsedFeed | ParseError]:
    """Parse ``(body, headers, url)`` documents; results in input order, a ParseError value for each failure.

    *workers* is the pool size (0: every core).  With fewer than *pool_threshold*
    documents, or one worker, parsing happens inline in this process.
    """
    # Headers may be a case-insensitive mapping from an HTTP client; a plain dict pickles anywhere.
    plain: list[_PlainItem] = [(body, dict(headers), url) for body, headers, url in items]
    size = min(workers or os.cpu_count() or 1, len(plain))
    if len(plain) < pool_threshold or size <= 1:
        return [_parse_one(item) for item in plain]
    # forkserver, not fork: the service runs threads (scheduler, database pool),
    # and forking a threaded process can copy a held lock into the child.
    context = multiprocessing.get_context("forkserver")
    chunksize = max(1, len(plain) // (size * 8))
    try:
        with ProcessPoolExecutor(max_workers=size, mp_context=context) as pool:
            return list(pool.map(_parse_one, plain, chunksize=chunksize))
    except BrokenProcessPool as exc:
        log.warning("parse pool broke (%s); parsing %d documents inline", exc, len(plain))
        return [_parse_one(item) for item in plain]
