"""The ``signals`` aggregate: per-window counts and detector state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.storage.models.base import Base, JSONType, UTCDateTime


class WindowCount(Base):
    """Counts for one theme in one window (theme ``*`` holds the window's totals)."""

    __tablename__ = "window_counts"

    theme: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    x: Mapped[int] = mapped_column(Integer, default=0)  # story clusters carrying the theme
    n: Mapped[int] = mapped_column(Integer, default=0)  # all story clusters in the window
    sources: Mapped[int] = mapped_column(Integer, default=0)  # distinct sources behind x
    top_source_x: Mapped[int] = mapped_column(Integer, default=0)  # most of x that any one source contributed
    raw_x: Mapped[int] = mapped_column(Integer, default=0)  # articles carrying the theme, before dedup
    raw_n: Mapped[int] = mapped_column(Integer, default=0)  # all articles, before dedup
    sources_ok: Mapped[int] = mapped_column(Integer, default=0)  # sources that polled fine in the window
    sources_total: Mapped[int] = mapped_column(Integer, default=0)  # enabled sources
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DirtyWindow(Base):
    """A window whose counts must be recomputed because articles landed in it."""

    __tablename__ = "dirty_windows"

    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped by every mark: a recount clears the mark only if no article landed while it counted.
    generation: Mapped[int] = mapped_column(Integer, default=0)


class Signal(Base):
    """The detector's decision and state for one theme, window and direction."""

    __tablename__ = "signals"

    theme: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)  # rise | fall
    level: Mapped[str] = mapped_column(String(20))  # none | watch | alert | insufficient
    s: Mapped[float] = mapped_column(Float, default=0.0)
    p0: Mapped[float | None] = mapped_column(Float)
    phi: Mapped[float | None] = mapped_column(Float)
    in_episode: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[Any] = mapped_column(JSONType)  # the detector's carried state after this window
    decision: Mapped[Any] = mapped_column(JSONType)  # the full decision, for explanations
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_signals_window_start", "window_start"),)
