"""Parsing: fetched feed documents become :class:`~pipeline.types.ParsedFeed` values (feedparser adapter)."""

from pipeline.parse.feed import parse_feed, struct_to_datetime
from pipeline.parse.pool import DEFAULT_POOL_THRESHOLD, parse_many

__all__ = ["DEFAULT_POOL_THRESHOLD", "parse_feed", "parse_many", "struct_to_datetime"]
