"""``alerts test-send``: one made-up alert sent straight to a channel, outside the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.alerts.channels import send
from pipeline.alerts.payload import alert_entry, build_payload
from pipeline.alerts.settings import AlertSettings
from pipeline.alerts.values import AlertRecord, ArticleRef, OutgoingMessage
from pipeline.errors import InputError
from pipeline.storage.deliveries import new_message_id


def sample_message(channel: str, now: datetime, web_base_url: str | None) -> OutgoingMessage:
    """A ``test`` notification carrying one example alert (id 0), so every field of the payload shows."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    alert = AlertRecord(
        id=0, kind="theme", theme="example_theme", direction="rise", severity="warning",
        window_start=day - timedelta(days=1), window_end=day, onset=day - timedelta(days=2),
        observed=0.08, expected=0.02, health_flag=False, health_reason=None,
        explanation={"method": "cusum", "x": 12, "n": 150, "p0": 0.02, "s": 5.1, "threshold": 4.0},
        status="open", created_at=now, updated_at=now,
    )
    article = ArticleRef("An example article title", "https://example.org/article", day - timedelta(hours=5),
                         "Example source", 0.9)
    message_id = new_message_id()
    entry = alert_entry(alert, [article], base_url=web_base_url)
    payload = build_payload(kind="test", message_id=message_id, channel=channel, created_at=now, entries=[entry])
    return OutgoingMessage(0, channel, message_id, "test", payload)


def send_test(settings: AlertSettings, channel: str, *, now: datetime, web_base_url: str | None) -> str | None:
    """Send a test notification on ``channel`` now; the channel's note, or DeliveryError."""
    found = settings.channel(channel)
    if found is None:
        known = ", ".join(c.name for c in settings.channels) or "none configured"
        raise InputError(f"no channel named {channel!r} (channels: {known})")
    return send(found, sample_message(channel, now, web_base_url))
