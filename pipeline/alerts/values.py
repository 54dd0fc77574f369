"""Typed values of the alerts stage.

``AlertIntent`` comes from detection into storage (an alert to raise); ``AlertRecord`` and friends come out of
storage for review and delivery; ``OutgoingMessage`` goes from the dispatcher to a channel; ``DispatchSummary``
is what one dispatch run reports. Values are frozen; times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pipeline.errors import InputError

AlertKind = Literal["theme", "sparse", "composite"]
AlertStatus = Literal["open", "acked", "confirmed", "dismissed"]
ReviewAction = Literal["ack", "confirm", "dismiss"]

ALERT_STATUSES: tuple[str, ...] = ("open", "acked", "confirmed", "dismissed")
# What each review action sets the status to.
REVIEW_STATUS: dict[str, str] = {"ack": "acked", "confirm": "confirmed", "dismiss": "dismissed"}
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "sent", "dead", "silenced")


@dataclass(frozen=True, slots=True)
class AlertIntent:
    """An alert detection wants raised (storage makes it an ``alerts`` row, once)."""

    kind: AlertKind
    theme: str  # theme id, or the composite rule's id
    direction: Literal["rise", "fall"]
    severity: str  # e.g. warning | critical
    window_start: datetime  # the window in which the alert is raised
    window_end: datetime
    onset: datetime | None  # estimated start of the shift
    observed: float  # the window's proportion (or count for sparse rules)
    expected: float  # the baseline's
    health_flag: bool = False  # volume or source mix may explain the shift
    health_reason: str | None = None
    explanation: Mapping[str, Any] = field(default_factory=dict)  # the numbers behind the decision (JSON-able)

    def __post_init__(self) -> None:
        where = f"alert intent {self.theme!r} {self.direction} at {self.window_start!r}"
        if self.kind not in ("theme", "sparse", "composite"):
            raise InputError(f"{where}: kind must be theme, sparse or composite, got {self.kind!r}")
        if self.direction not in ("rise", "fall"):
            raise InputError(f"{where}: direction must be rise or fall, got {self.direction!r}")
        if not self.theme:
            raise InputError(f"{where}: theme is empty")
        for name in ("window_start", "window_end", "onset"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InputError(f"{where}: {name} must be timezone-aware (UTC)")
        if self.window_end <= self.window_start:
            raise InputError(f"{where}: window_end must be after window_start")


@dataclass(frozen=True, slots=True)
class AlertEventRecord:
    """One step of an alert's review trail."""

    id: int
    alert_id: int
    action: str  # raised | silenced | ack | confirm | dismiss
    note: str | None
    actor: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert, as review and delivery read it."""

    id: int
    kind: str
    theme: str
    direction: str
    severity: str
    window_start: datetime
    window_end: datetime
    onset: datetime | None
    observed: float
    expected: float
    health_flag: bool
    health_reason: str | None
    explanation: Mapping[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """An article that shows what an alert is about."""

    title: str
    url: str | None
    published_at: datetime | None
    source: str | None = None
    score: float | None = None


@dataclass(frozen=True, slots=True)
class SilenceRecord:
    """A stored silence (``id`` None for one that comes from config)."""

    id: int | None
    theme: str  # theme id or shell pattern
    direction: str | None  # None: both directions
    starts_at: datetime | None
    until: datetime
    reason: str
    created_by: str | None = None
    created_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and now < self.until


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One outbox row (an alert for a channel) with its notification's sending state."""

    id: int
    alert_id: int
    channel: str
    kind: str  # alert | repeat
    status: str  # pending | sent | dead | silenced
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    notification_id: int | None
    message_id: str | None  # webhook-id / Message-ID, the same on every retry
    attempts: int
    next_attempt_at: datetime | None
    claimed_until: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One try at sending a notification."""

    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # started | sent | retry | dead | interrupted
    error: str | None
    worker: str | None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One notification as a channel sends it; the same on every retry."""

    notification_id: int
    channel: str
    message_id: str
    kind: str  # alerts | repeat | digest | test
    payload: Mapping[str, Any]  # the versioned payload (see pipeline.alerts.payload)
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class ClaimedNotification:
    """A notification claimed by one dispatcher for one attempt."""

    message: OutgoingMessage
    token: str  # proves the claim when recording the outcome
    attempt_id: int
    created_at: datetime  # retries stop ``max_age`` after this
    reclaimed: bool  # the previous claim's lease ran out before its outcome was recorded


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one send attempt did, as the dispatcher records it."""

    notification_id: int
    channel: str
    message_id: str
    alert_ids: tuple[int, ...]
    attempt: int
    outcome: Literal["sent", "retry", "dead", "lost"]  # lost: the claim expired before recording
    error: str | None = None
    next_attempt_at: datetime | None = None
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class DispatchSummary:
    """What one ``dispatch_once`` run did."""

    started_at: datetime
    repeats_scheduled: int = 0
    notifications_created: int = 0
    silenced: int = 0
    orphaned: int = 0  # deliveries for a channel no longer configured, marked dead
    attempts: tuple[AttemptOutcome, ...] = ()
    unfinished_channels: tuple[str, ...] = ()  # channels still sending when the run's deadline passed
    errors: tuple[str, ...] = ()  # storage failures while serving a channel

    @property
    def sent(self) -> int:
        return sum(1 for a in self.attempts if a.outcome == "sent")

    @property
    def retrying(self) -> int:
        return sum(1 for a in self.attempts if a.outcome == "retry")

    @property
    def dead(self) -> int:
        return sum(1 for a in self.attempts if a.outcome == "dead")

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "repeats_scheduled": self.repeats_scheduled,
            "notifications_created": self.notifications_created,
            "silenced": self.silenced,
            "orphaned": self.orphaned,
            "sent": self.sent,
            "retrying": self.retrying,
            "dead": self.dead,
            "unfinished_channels": list(self.unfinished_channels),
            "errors": list(self.errors),
            "attempts": [
                {
                    "notification_id": a.notification_id,
                    "channel": a.channel,
                    "message_id": a.message_id,
                    "alert_ids": list(a.alert_ids),
                    "attempt": a.attempt,
                    "outcome": a.outcome,
                    "error": a.error,
                    "next_attempt_at": a.next_attempt_at,
                    "elapsed": round(a.elapsed, 3),
                }
                for a in self.attempts
            ],
        }
