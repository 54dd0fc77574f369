"""Channels: one module per kind of destination, each wrapping its library's errors into DeliveryError.

``send(channel, message)`` is the border: it returns an optional note (e.g. some recipients refused) on
success and raises :class:`~pipeline.errors.DeliveryError` otherwise, ``permanent`` telling give-up from
retry. Nothing else escapes, so one channel's failure never disturbs another's.
"""

from __future__ import annotations

import logging

from pipeline.alerts.settings import AppriseChannel, ChannelSettings, EmailChannel, WebhookChannel
from pipeline.alerts.values import OutgoingMessage
from pipeline.errors import DeliveryError

log = logging.getLogger(__name__)


def send(channel: ChannelSettings, message: OutgoingMessage) -> str | None:
    """Send ``message`` on ``channel``; a note on partial success, DeliveryError on failure."""
    try:
        if isinstance(channel, WebhookChannel):
            from pipeline.alerts.channels.webhook import send_webhook

            return send_webhook(channel, message)
        if isinstance(channel, EmailChannel):
            from pipeline.alerts.channels.mail import send_email

            return send_email(channel, message)
        if isinstance(channel, AppriseChannel):
            from pipeline.alerts.channels.apprise_channel import send_apprise

            return send_apprise(channel, message)
    except DeliveryError:
        raise
    except Exception as exc:  # the border: a bug or an unforeseen library error must not kill the dispatcher
        log.exception("channel %s: unexpected error", channel.name)
        raise DeliveryError(f"{channel.type} {channel.name}: unexpected {exc.__class__.__name__}: {exc}") from exc
    raise DeliveryError(f"channel {channel.name}: unknown type", permanent=True)
