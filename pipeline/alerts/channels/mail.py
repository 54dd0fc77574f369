"""Email channel: a multipart (plain text + HTML) message through SMTP, STARTTLS or implicit TLS.

Headers are built by :class:`email.message.EmailMessage` under the SMTP policy, which encodes non-ASCII
text (RFC 2047) and refuses line breaks; the subject is made one clean line first, so a hostile article
title can neither break the header block nor add a header.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from pipeline.alerts.render import html_body, subject, text_body
from pipeline.alerts.settings import EmailChannel
from pipeline.alerts.values import OutgoingMessage
from pipeline.errors import DeliveryError

# Python's header folder (3.11) can cut a multi-byte character in two when it folds RFC 2047 words, which
# garbles the subject; with lines allowed up to RFC 5322's hard limit of 998 and subjects capped well below
# it (render.SUBJECT_MAX), headers are never folded.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)


def build_message(channel: EmailChannel, message: OutgoingMessage, *, now: datetime | None = None) -> EmailMessage:
    """The email for ``message``; its Message-ID is derived from the message id, so retries share it."""
    msg = EmailMessage(policy=MAIL_POLICY)
    try:
        sender = _address(channel.sender)
        msg["From"] = sender
        msg["To"] = [_address(a) for a in channel.to]
    except (ValueError, IndexError) as exc:
        raise DeliveryError(f"email {channel.name}: bad address: {exc}", permanent=True) from exc
    msg["Subject"] = subject(message.payload, channel.subject_prefix)
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = f"<{message.message_id}@{sender.domain or 'pipeline.invalid'}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: autoresponders stay quiet
    ids = ",".join(str(a.get("id")) for a in message.payload.get("alerts", []))
    if ids:
        msg["X-Pipeline-Alerts"] = ids
    # Quoted-printable keeps the message 7-bit clean: no server needs 8BITMIME to carry it intact.
    msg.set_content(text_body(message.payload), cte="quoted-printable")
    msg.add_alternative(html_body(message.payload), subtype="html", cte="quoted-printable")
    return msg


def _address(text: str) -> Address:
    """Parse one address (``Name <user@host>`` or ``user@host``) through the header registry."""
    from email.headerregistry import HeaderRegistry

    header = HeaderRegistry()("To", text)
    addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
    if len(addresses) != 1 or not addresses[0].username or getattr(header, "defects", None):
        raise ValueError(f"not one valid address: {text!r}")
    return addresses[0]


def _tls_context(channel: EmailChannel) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=channel.ca_file)
    if not channel.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def send_email(channel: EmailChannel, message: OutgoingMessage) -> str | None:
    """Send the email; returns a note naming refused recipients when only some were refused."""
    where = f"email {channel.name} via {channel.smtp_host}:{channel.smtp_port}"
    msg = build_message(channel, message)
    seconds = channel.timeout.total_seconds()
    try:
        smtp: smtplib.SMTP
        if channel.tls:
            smtp = smtplib.SMTP_SSL(channel.smtp_host, channel.smtp_port, timeout=seconds,
                                    context=_tls_context(channel))
        else:
            smtp = smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=seconds)
        with smtp:
            if channel.starttls:
                smtp.starttls(context=_tls_context(channel))
            if channel.username is not None and channel.password is not None:
                smtp.login(channel.username, channel.password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{rcpt}: {code} {_text(resp)}" for rcpt, (code, resp) in exc.recipients.items())
        raise DeliveryError(f"{where}: every recipient refused: {detail}",
                            permanent=all(c >= 500 for c in codes)) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"{where}: {exc}", permanent=True) from exc
    except smtplib.SMTPResponseException as exc:
        # 5xx is a permanent refusal (bad sender, failed login, message rejected); 4xx asks to retry.
        raise DeliveryError(f"{where}: {exc.__class__.__name__} {exc.smtp_code} {_text(exc.smtp_error)}",
                            permanent=exc.smtp_code >= 500) from exc
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(f"{where}: TLS certificate not trusted: {exc.verify_message}", permanent=True) from exc
    except TimeoutError as exc:
        raise DeliveryError(f"{where}: timed out after {seconds:g} s") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{where}: {exc.__class__.__name__}: {exc}") from exc
    if refused:
        return "some recipients refused: " + "; ".join(
            f"{rcpt}: {code} {_text(resp)}" for rcpt, (code, resp) in refused.items()
        )
    return None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
