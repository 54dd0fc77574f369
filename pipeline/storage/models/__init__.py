"""Typed SQLAlchemy models, one module per aggregate; importing this registers every table."""

from pipeline.storage.models.alerts import Alert, AlertEvent
from pipeline.storage.models.articles import Article, ArticleBand, ArticleTheme
from pipeline.storage.models.base import Base, UTCDateTime
from pipeline.storage.models.deliveries import *  # noqa: F403  (owned by the delivery aggregate)
from pipeline.storage.models.signals import DirtyWindow, Signal, WindowCount
from pipeline.storage.models.sources import Source, SourceWindow

__all__ = [
    "Alert",
    "AlertEvent",
    "Article",
    "ArticleBand",
    "ArticleTheme",
    "Base",
    "DirtyWindow",
    "Signal",
    "Source",
    "SourceWindow",
    "UTCDateTime",
    "WindowCount",
]
