"""The ``deliveries`` aggregate: the outbox (one row per alert and channel), notifications, attempts, silences.

A ``Delivery`` is written with its alert, in the same transaction. The dispatcher gathers a channel's due
deliveries into one ``Notification`` (the unit that is sent, retried and given up, with one stable message
id), claims it with a lease, records a ``NotificationAttempt`` before sending and its outcome after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.storage.models.base import Base, JSONType, UTCDateTime

__all__ = ["Delivery", "Notification", "NotificationAttempt", "Silence"]


class Delivery(Base):
    """An alert owed to one channel (an outbox row)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="alert")  # alert | repeat
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | dead | silenced
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # not before: group_wait or the digest time
    # Set when the dispatcher puts the delivery into a notification; NULL while still gathering.
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_deliveries_gather", "channel", "status", "notification_id", "due_at"),
        Index("ix_deliveries_alert_id", "alert_id"),
        Index("ix_deliveries_notification_id", "notification_id"),
    )


class Notification(Base):
    """One message to one channel listing one or more deliveries' alerts; retried as a unit."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # alerts | repeat | digest
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # webhook-id / Message-ID on every retry
    payload: Mapped[Any] = mapped_column(JSONType)  # the versioned document, frozen at assembly
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Lease: a dispatcher holds the notification until claimed_until; after that anyone may reclaim it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claim_token: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_notifications_due", "status", "channel", "next_attempt_at"),)


class NotificationAttempt(Base):
    """One try at sending a notification, written before the send and completed after it."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20), default="started")  # started | sent | retry | dead | interrupted
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_notification_attempts_notification_id", "notification_id"),)


class Silence(Base):
    """A theme (optionally one direction) muted until a time, with the reason."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theme: Mapped[str] = mapped_column(String(100))  # theme id or shell pattern
    direction: Mapped[str | None] = mapped_column(String(10))  # NULL: both
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_silences_until", "until"),)
