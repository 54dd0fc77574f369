"""Webhook channel: POST the JSON payload, signed by the Standard Webhooks convention.

Headers: ``webhook-id`` (the notification's message id, the same on every retry so receivers can drop
duplicates), ``webhook-timestamp`` (Unix seconds, the time of this attempt) and, with a secret,
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` made by the ``standardwebhooks``
package, so receivers verify with any Standard Webhooks library.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from datetime import UTC, datetime
from functools import cache

import httpx
from standardwebhooks.webhooks import Webhook

from pipeline import __version__
from pipeline.alerts.payload import encode
from pipeline.alerts.settings import WebhookChannel
from pipeline.alerts.values import OutgoingMessage
from pipeline.errors import DeliveryError

USER_AGENT = f"pipeline/{__version__} (alert webhook)"
_ERROR_BODY_BYTES = 300
TRANSIENT_STATUSES = frozenset({408, 429})


@cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~50 ms: do it once, not per send (an SSLContext is safe to share).
    return httpx.create_ssl_context()


def signed_headers(channel: WebhookChannel, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent at ``at``."""
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp()))}
    if channel.secret:
        headers["webhook-signature"] = Webhook(channel.secret).sign(message_id, at, body)
    return headers


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from ``now`` (Unix time), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def send_webhook(channel: WebhookChannel, message: OutgoingMessage) -> str | None:
    """POST ``message``; DeliveryError, transient on network errors, timeouts, 408, 429 and 5xx."""
    where = f"webhook {channel.name}"
    body = encode(message.payload)
    # The signature's timestamp is the real time of sending: receivers reject stale ones.
    sent_at = datetime.now(UTC).replace(microsecond=0)
    headers = {**channel.headers, "content-type": "application/json", "user-agent": USER_AGENT}
    headers.update(signed_headers(channel, message.message_id, body, sent_at))
    seconds = channel.timeout.total_seconds()
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(seconds), follow_redirects=False, trust_env=False,
                         verify=_tls_context()) as client,
            client.stream("POST", channel.url, content=body.encode("utf-8"), headers=headers) as resp,
        ):
            status = resp.status_code
            snippet = _read_some(resp) if status >= 300 else ""
            retry_after = retry_after_seconds(resp.headers.get("retry-after"), time.time())
            location = resp.headers.get("location")
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"{where}: timed out after {seconds:g} s ({exc.__class__.__name__})") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{where}: {exc.__class__.__name__}: {exc}") from exc
    if 200 <= status < 300:
        return None
    detail = f"{where}: HTTP {status}" + (f": {snippet}" if snippet else "")
    if status >= 500 or status in TRANSIENT_STATUSES:
        raise DeliveryError(detail, retry_after=retry_after)
    if 300 <= status < 400:
        raise DeliveryError(f"{where}: HTTP {status} redirect to {location!r} is not followed; fix the URL",
                            permanent=True)
    raise DeliveryError(detail, permanent=True)


def _read_some(resp: httpx.Response) -> str:
    """The start of an error body, for the message (never the whole of a hostile body)."""
    data = b""
    try:
        for chunk in resp.iter_bytes():
            data += chunk
            if len(data) >= _ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = data[:_ERROR_BODY_BYTES].decode("utf-8", "replace")
    return " ".join(text.split())
