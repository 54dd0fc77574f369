"""Apprise channel: Slack, Teams, Telegram, Matrix and the rest through the Apprise library (imported lazily).

The message is the plain-text rendering with the subject as title. Service URLs carry tokens, so errors
name the service and its log lines, never the URL. When only some of a channel's URLs fail the
notification counts as sent (re-sending would repeat it to the others) and the failures are noted; give
each target its own channel when each must be retried on its own.
"""

from __future__ import annotations

from typing import Any

from pipeline.alerts.render import subject, text_body
from pipeline.alerts.settings import AppriseChannel
from pipeline.alerts.values import OutgoingMessage
from pipeline.errors import DeliveryError


def send_apprise(channel: AppriseChannel, message: OutgoingMessage) -> str | None:
    """Notify every URL of the channel; DeliveryError (transient) when none succeeded."""
    where = f"apprise {channel.name}"
    try:
        import apprise
    except ImportError as exc:  # an optional dependency: say how to get it
        raise DeliveryError(f"{where}: the apprise package is not installed (pip install apprise)",
                            permanent=True) from exc
    client = apprise.Apprise()
    for i, url in enumerate(channel.urls):
        if not client.add(url):
            raise DeliveryError(f"{where}: urls[{i}] is not a URL Apprise understands", permanent=True)
    result: Any = client.notify(
        body=text_body(message.payload),
        title=subject(message.payload),
        body_format=apprise.NotifyFormat.TEXT,
        timeout=channel.timeout.total_seconds(),
    )
    results = list(getattr(result, "results", ()))
    failed = [r for r in results if getattr(r, "status", None) != apprise.AppriseResultStatus.SUCCESS]
    if result and not failed:
        return None
    reasons = "; ".join(_reason(r) for r in failed) or "no service accepted the message"
    if results and len(failed) < len(results):
        return f"{len(failed)} of {len(results)} targets failed: {reasons}"
    raise DeliveryError(f"{where}: {reasons}")


def _reason(result: Any) -> str:
    lines = [str(getattr(e, "message", e)) for e in result.logs() if getattr(e, "level", "") in ("WARNING", "ERROR")]
    return f"{getattr(result, 'name', 'service')}: {' / '.join(lines[-2:]) or getattr(result, 'status', 'failed')}"
