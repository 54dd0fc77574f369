"""Storage of the outbox: gathering deliveries into notifications, claiming with a lease, recording attempts.

Claims are safe with several dispatchers: on PostgreSQL candidate rows are locked with ``FOR UPDATE SKIP
LOCKED`` (others skip them instead of waiting); on SQLite, whose writers are serialised anyway, every claim
is a compare-and-set ``UPDATE`` whose ``WHERE`` repeats the condition the row was picked by.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from pipeline.alerts.values import (
    DELIVERY_STATUSES,
    AttemptRecord,
    ClaimedNotification,
    DeliveryRecord,
    OutgoingMessage,
)
from pipeline.errors import InputError
from pipeline.storage.models import Alert
from pipeline.storage.models.deliveries import Delivery, Notification, NotificationAttempt

INTERRUPTED = "interrupted: the dispatcher stopped before recording the outcome; the lease expired"


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A due delivery not yet in a notification."""

    id: int
    alert_id: int
    kind: str  # alert | repeat


def _locking(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def new_message_id() -> str:
    """A globally unique id for a notification (``webhook-id``), kept across its retries."""
    return f"msg_{uuid.uuid4().hex}"


# -- gathering ------------------------------------------------------------------------------------------


def due_fresh_deliveries(session: Session, *, channel: str, now: datetime, limit: int) -> list[PendingDelivery]:
    """The channel's due deliveries that are in no notification yet, oldest first (locked on PostgreSQL)."""
    stmt = (
        select(Delivery.id, Delivery.alert_id, Delivery.kind)
        .where(
            Delivery.channel == channel,
            Delivery.status == "pending",
            Delivery.notification_id.is_(None),
            Delivery.due_at <= now,
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    if _locking(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return [PendingDelivery(r.id, r.alert_id, r.kind) for r in session.execute(stmt)]


def create_notification(
    session: Session,
    *,
    channel: str,
    kind: str,
    message_id: str,
    payload: dict[str, Any],
    delivery_ids: Sequence[int],
    now: datetime,
) -> int | None:
    """Put ``delivery_ids`` into one new notification, due now; None if another dispatcher took any of them."""
    n = Notification(channel=channel, kind=kind, message_id=message_id, payload=payload, status="pending",
                     attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
    session.add(n)
    session.flush()
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.notification_id.is_(None), Delivery.status == "pending")
        .values(notification_id=n.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != len(delivery_ids):
        # Lost a race (SQLite only: PostgreSQL held the rows locked). Undo and let the winner send them.
        session.execute(
            update(Delivery).where(Delivery.notification_id == n.id).values(notification_id=None)
            .execution_options(synchronize_session=False)
        )
        session.delete(n)
        session.flush()
        return None
    return n.id


def close_deliveries(session: Session, ids: Collection[int], *, status: str, reason: str, now: datetime) -> int:
    """End pending deliveries without sending them (``silenced``, or ``dead`` for a removed channel)."""
    if not ids:
        return 0
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.status == "pending")
        .values(status=status, last_error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def orphaned(session: Session, known_channels: Collection[str]) -> tuple[list[int], list[int]]:
    """Pending deliveries and notifications whose channel is no longer configured."""
    d = select(Delivery.id).where(Delivery.status == "pending", Delivery.channel.not_in(list(known_channels)))
    n = select(Notification.id).where(
        Notification.status == "pending", Notification.channel.not_in(list(known_channels))
    )
    return list(session.scalars(d)), list(session.scalars(n))


def kill_notifications(session: Session, ids: Collection[int], *, reason: str, now: datetime) -> None:
    """Mark notifications (and their deliveries) dead with ``reason``."""
    for nid in ids:
        _finish(session, nid, status="dead", error=reason, now=now)


# -- repeats ---------------------------------------------------------------------------------------------


def repeat_candidates(session: Session) -> list[tuple[int, str, datetime]]:
    """(alert id, channel, last sent at) of open alerts sent on a channel and not pending there now."""
    stmt = (
        select(Delivery.alert_id, Delivery.channel, func.max(Delivery.sent_at))
        .join(Alert, Alert.id == Delivery.alert_id)
        .where(Alert.status == "open", Delivery.status == "sent")
        .group_by(Delivery.alert_id, Delivery.channel)
    )
    pending = select(Delivery.alert_id, Delivery.channel).where(Delivery.status == "pending")
    busy = {(a, c) for a, c in session.execute(pending)}
    return [(a, c, t) for a, c, t in session.execute(stmt) if (a, c) not in busy and t is not None]


def add_delivery(session: Session, *, alert_id: int, channel: str, kind: str, due_at: datetime, now: datetime) -> int:
    d = Delivery(alert_id=alert_id, channel=channel, kind=kind, status="pending", due_at=due_at,
                 created_at=now, updated_at=now)
    session.add(d)
    session.flush()
    return d.id


def open_group_due(session: Session, channel: str, now: datetime) -> datetime | None:
    """When the channel's still-waiting group of deliveries goes out, if one is waiting."""
    value: datetime | None = session.execute(
        select(func.min(Delivery.due_at)).where(
            Delivery.channel == channel,
            Delivery.status == "pending",
            Delivery.notification_id.is_(None),
            Delivery.due_at > now,
        )
    ).scalar_one_or_none()
    return value


# -- claiming and recording -------------------------------------------------------------------------------


def _claimable(now: datetime) -> Any:
    return and_(
        Notification.status == "pending",
        Notification.next_attempt_at <= now,
        or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now),
    )


def channels_with_due(session: Session, now: datetime) -> list[str]:
    """Channels that have a notification ready to be claimed."""
    return sorted(session.scalars(select(Notification.channel).where(_claimable(now)).distinct()))


def claim_next(
    session: Session, *, channel: str, now: datetime, lease: timedelta, worker: str
) -> ClaimedNotification | None:
    """Claim the channel's next due notification for one attempt, recording the attempt before any send.

    The claim holds until ``now + lease``; a claim whose lease ran out (its dispatcher died between claiming
    and recording) is claimable again, and its unfinished attempt is marked interrupted.
    """
    for _ in range(5):  # on SQLite a concurrent dispatcher may win the compare-and-set; try the next row
        pick = select(Notification.id, Notification.claimed_until).where(
            Notification.channel == channel, _claimable(now)
        ).order_by(Notification.next_attempt_at, Notification.id).limit(1)
        if _locking(session):
            pick = pick.with_for_update(skip_locked=True)
        row = session.execute(pick).first()
        if row is None:
            return None
        token = uuid.uuid4().hex
        result = session.execute(
            update(Notification)
            .where(Notification.id == row.id, _claimable(now))
            .values(claim_token=token, claimed_until=now + lease, claimed_by=worker,
                    attempts=Notification.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue
        n = session.get(Notification, row.id, populate_existing=True)
        assert n is not None
        reclaimed = row.claimed_until is not None
        if reclaimed:
            session.execute(
                update(NotificationAttempt)
                .where(NotificationAttempt.notification_id == n.id, NotificationAttempt.outcome == "started")
                .values(outcome="interrupted", error=INTERRUPTED)
                .execution_options(synchronize_session=False)
            )
        attempt = NotificationAttempt(notification_id=n.id, number=n.attempts, worker=worker, started_at=now,
                                      outcome="started")
        session.add(attempt)
        session.flush()
        message = OutgoingMessage(n.id, n.channel, n.message_id, n.kind, n.payload, n.attempts)
        return ClaimedNotification(message, token, attempt.id, n.created_at, reclaimed)
    return None


def record_outcome(
    session: Session,
    claim: ClaimedNotification,
    *,
    outcome: Literal["sent", "retry", "dead"],
    now: datetime,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> Literal["sent", "retry", "dead", "lost"]:
    """Record how the claimed attempt ended; "lost" when the claim had expired and another took over.

    A success is kept even on a lost claim: the message did arrive, and re-sending it would only make a
    duplicate (receivers drop it by id, but why send it).
    """
    session.execute(
        update(NotificationAttempt)
        .where(NotificationAttempt.id == claim.attempt_id)
        .values(finished_at=now, outcome=outcome, error=error)
        .execution_options(synchronize_session=False)
    )
    n = session.get(Notification, claim.message.notification_id, with_for_update=True, populate_existing=True)
    if n is None or n.status != "pending":
        return "lost" if outcome != "sent" else "sent"
    if n.claim_token != claim.token and outcome != "sent":
        return "lost"
    if outcome == "retry":
        assert next_attempt_at is not None
        n.next_attempt_at = next_attempt_at
        n.claimed_until = None
        n.claim_token = None
        n.last_error = error
        n.updated_at = now
        return "retry"
    _finish(session, n.id, status=outcome, error=error, now=now)
    return outcome


def _finish(session: Session, notification_id: int, *, status: str, error: str | None, now: datetime) -> None:
    n = session.get(Notification, notification_id, populate_existing=True)
    if n is None:
        return
    n.status = status
    n.claimed_until = None
    n.claim_token = None
    n.last_error = error
    n.updated_at = now
    n.sent_at = now if status == "sent" else None
    session.execute(
        update(Delivery)
        .where(Delivery.notification_id == notification_id, Delivery.status == "pending")
        .values(status=status, last_error=error, updated_at=now, sent_at=now if status == "sent" else None)
        .execution_options(synchronize_session=False)
    )
    session.flush()


# -- reading ------------------------------------------------------------------------------------------------


def list_deliveries(
    session: Session,
    *,
    status: str | None = None,
    channel: str | None = None,
    alert_ids: Iterable[int] | None = None,
    limit: int | None = None,
) -> list[DeliveryRecord]:
    """Outbox rows with their notification's sending state, newest first."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise InputError(f"status must be one of {', '.join(DELIVERY_STATUSES)}, got {status!r}")
    stmt = select(Delivery, Notification).join(Notification, Notification.id == Delivery.notification_id,
                                               isouter=True)
    if status is not None:
        stmt = stmt.where(Delivery.status == status)
    if channel is not None:
        stmt = stmt.where(Delivery.channel == channel)
    if alert_ids is not None:
        stmt = stmt.where(Delivery.alert_id.in_(list(alert_ids)))
    stmt = stmt.order_by(Delivery.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    out = []
    for d, n in session.execute(stmt):
        out.append(DeliveryRecord(
            id=d.id, alert_id=d.alert_id, channel=d.channel, kind=d.kind, status=d.status, due_at=d.due_at,
            created_at=d.created_at, sent_at=d.sent_at,
            last_error=d.last_error or (n.last_error if n is not None else None),
            notification_id=d.notification_id, message_id=n.message_id if n is not None else None,
            attempts=n.attempts if n is not None else 0,
            next_attempt_at=(n.next_attempt_at if n is not None else d.due_at) if d.status == "pending" else None,
            claimed_until=n.claimed_until if n is not None else None,
        ))
    return out


def notification_attempts(session: Session, notification_id: int) -> list[AttemptRecord]:
    """Every attempt at one notification, first first."""
    stmt = (
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id == notification_id)
        .order_by(NotificationAttempt.number, NotificationAttempt.id)
    )
    return [AttemptRecord(a.number, a.started_at, a.finished_at, a.outcome, a.error, a.worker)
            for a in session.scalars(stmt)]
