"""The ``sources`` aggregate: configured feeds and their fetch state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.storage.models.base import Base, UTCDateTime


class Source(Base):
    """A feed and everything about how polling it went."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)  # the URL fetched: a permanent redirect moves it
    configured_url: Mapped[str | None] = mapped_column(Text)  # the URL the config names
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    title: Mapped[str | None] = mapped_column(Text)  # the feed's own title
    # Conditional GET state and the hash of the last parsed body.
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # Health: new | ok | not_modified | error
    status: Mapped[str] = mapped_column(String(20), default="new")
    http_status: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(40))
    last_warning: Mapped[str | None] = mapped_column(Text)  # e.g. feedparser's bozo text
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entries_stored: Mapped[int] = mapped_column(Integer, default=0)
    # blake2b-128 digests of the raw items of the last document processed, concatenated (parse.items):
    # a changed document is parsed for the items not among them.
    item_digests: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Lease: which worker holds this feed for the current cycle, and until when.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sources_due", "enabled", "next_poll_at"),)


class SourceWindow(Base):
    """Per source and window: how its polls went (feeds the health gate of detection)."""

    __tablename__ = "source_windows"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    polls_ok: Mapped[int] = mapped_column(Integer, default=0)
    polls_failed: Mapped[int] = mapped_column(Integer, default=0)
