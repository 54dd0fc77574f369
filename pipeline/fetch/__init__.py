"""The fetch stage: due feeds in, :class:`~pipeline.types.FetchResult` values out.

``fetch_all`` fetches a cycle's sources concurrently (limits, timeouts, size cap, conditional GET,
URL policy) and yields each outcome as it completes; ``next_poll_at`` is the pure scheduling math.
"""

from pipeline.fetch.client import fetch_all, fetch_all_sync, make_client
from pipeline.fetch.policy import Resolver, is_public_address, parse_feed_url
from pipeline.fetch.result import ErrorKind, FetchOutcome
from pipeline.fetch.schedule import RandomSource, backoff_delay, next_poll_at
from pipeline.fetch.settings import FetchSettings

__all__ = [
    "ErrorKind",
    "FetchOutcome",
    "FetchSettings",
    "RandomSource",
    "Resolver",
    "backoff_delay",
    "fetch_all",
    "fetch_all_sync",
    "is_public_address",
    "make_client",
    "next_poll_at",
    "parse_feed_url",
]
