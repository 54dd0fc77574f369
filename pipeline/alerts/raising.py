"""Raising an alert from detection: the one call the signals stage makes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from pipeline.alerts.routing import silences_from_config
from pipeline.alerts.settings import AlertSettings
from pipeline.alerts.values import AlertIntent
from pipeline.storage.alerts import raise_alert


def raise_intent(session: Session, intent: AlertIntent, settings: AlertSettings, *, now: datetime) -> int | None:
    """Store ``intent`` with its outbox rows in the caller's transaction (see ``storage.alerts.raise_alert``).

    Returns the new alert's id, or None when the same theme, direction and window was raised before.
    """
    return raise_alert(
        session,
        intent,
        channels=settings.channels,
        routes=settings.routes,
        now=now,
        silences=silences_from_config(settings.silences),
        default_channels=settings.default_channels,
        group_wait=settings.group_wait,
    )
