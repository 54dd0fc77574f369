"""The ``alerts`` aggregate: raised alerts, their review trail, deliveries and silences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.storage.models.base import Base, JSONType, UTCDateTime


class Alert(Base):
    """A raised alert with the numbers that explain it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="theme")  # theme | sparse | composite
    theme: Mapped[str] = mapped_column(String(100))  # theme id, or the composite rule's id
    direction: Mapped[str] = mapped_column(String(10))  # rise | fall
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    onset: Mapped[datetime | None] = mapped_column(UTCDateTime)
    observed: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    health_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    health_reason: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[Any] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | acked | confirmed | dismissed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Re-running detection over a period never raises the same alert twice.
        UniqueConstraint("theme", "direction", "window_start"),
        Index("ix_alerts_status", "status"),
        Index("ix_alerts_created_at", "created_at"),
    )


class AlertEvent(Base):
    """One step in an alert's review trail (raised, acked, confirmed, dismissed, note)."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_alert_events_alert_id", "alert_id"),)
