"""Email delivery to a real SMTP server (aiosmtpd): down then up, safe headers, same numbers, refusals."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import timedelta
from email import policy
from email.message import EmailMessage

import pytest
from alerts_support import T0, SmtpSink, free_port, intent
from sqlalchemy import select

from pipeline.alerts.channels.mail import build_message
from pipeline.alerts.dispatch import dispatch_once
from pipeline.alerts.settings import EmailChannel
from pipeline.alerts.testsend import sample_message
from pipeline.storage.models.deliveries import Notification

HOSTILE = "Bombing in Raqqa\r\nBcc: victim@evil.example\r\nX-Injected: yes\n\nfake body — Ракка «ИГИЛ» 🚨"


def _mail(port: int, **extra: object) -> dict[str, object]:
    return {"name": "analysts", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": port,
            "sender": "Threat Monitor <monitor@example.org>", "to": ["analyst@example.org", "lead@example.org"],
            "timeout": "2s", **extra}


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_smtp_down_then_up_delivers_with_intact_headers(db, raise_alert, settings_of):
    port = free_port()
    settings = settings_of(channels=[_mail(port)])
    alert_id = raise_alert(intent(title=HOSTILE), settings)

    summary = dispatch_once(db, settings, now=T0, web_base_url="https://monitor.example")
    assert [a.outcome for a in summary.attempts] == ["retry"]
    assert "Connection refused" in (summary.attempts[0].error or "") or "Errno" in (summary.attempts[0].error or "")

    sink = SmtpSink(port=port).start()
    try:
        with db.session() as s:
            nxt = s.scalars(select(Notification)).one().next_attempt_at
        summary = dispatch_once(db, settings, now=nxt, web_base_url="https://monitor.example")
        assert [a.outcome for a in summary.attempts] == ["sent"]
        assert len(sink.messages) == 1
        mail_from, rcpt, raw = sink.messages[0]
    finally:
        sink.stop()

    # The envelope goes to the configured recipients only: no header injection reached it.
    assert mail_from == "monitor@example.org"
    assert sorted(rcpt) == ["analyst@example.org", "lead@example.org"]
    # Every header line is a proper header or a folded continuation; nothing was injected.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(b"\n" not in line for line in head.split(b"\r\n"))
    assert raw.isascii(), "non-ASCII is encoded (RFC 2047 in headers, a transfer encoding in the body)"
    msg = _parse(raw)
    assert msg.defects == []
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    names = [k.lower() for k in msg]
    assert sorted(set(names)) == sorted(names), "no header appears twice"
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject
    assert "Bombing in Raqqa Bcc: victim@evil.example X-Injected: yes fake body — Ракка «ИГИЛ» 🚨" in subject
    assert str(msg["From"]) == "Threat Monitor <monitor@example.org>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"].startswith("<msg_") and msg["Message-ID"].endswith("@example.org>")
    assert msg["X-Pipeline-Alerts"] == str(alert_id)

    # Multipart: plain text and HTML, both with the same numbers and the review link.
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    link = f"https://monitor.example/alerts/{alert_id}"
    for body in (text, html):
        assert link in body
        assert "0.0875" in body and "0.021" in body  # observed 14/160, expected
        assert "5.25" in body  # the CUSUM statistic from the explanation
        assert "Ракка" in body
    # The hostile title is escaped in HTML and one clean line in the text.
    assert "<br" not in html.split("Ракка")[0].rsplit("<li>", 1)[-1]
    assert "Bombing in Raqqa Bcc: victim@evil.example" in text


def test_message_id_is_stable_across_retries(db, raise_alert, settings_of):
    port = free_port()
    settings = settings_of(channels=[_mail(port)])
    raise_alert(intent(), settings)
    dispatch_once(db, settings, now=T0)  # refused: nothing listens
    with db.session() as s:
        n = s.scalars(select(Notification)).one()
    sink = SmtpSink(port=port).start()
    try:
        dispatch_once(db, settings, now=n.next_attempt_at)
    finally:
        sink.stop()
    assert _parse(sink.messages[0][2])["Message-ID"] == f"<{n.message_id}@example.org>"


def test_every_recipient_refused_is_permanent(db, smtp, raise_alert, settings_of):
    smtp.refuse = {"analyst@example.org", "lead@example.org"}
    settings = settings_of(channels=[_mail(smtp.port)])
    raise_alert(intent(), settings)
    summary = dispatch_once(db, settings, now=T0)
    assert [a.outcome for a in summary.attempts] == ["dead"]
    assert "550" in (summary.attempts[0].error or "") and "analyst@example.org" in (summary.attempts[0].error or "")
    assert dispatch_once(db, settings, now=T0 + timedelta(hours=1)).attempts == ()


def test_some_recipients_refused_is_sent_with_a_note(db, smtp, raise_alert, settings_of):
    smtp.refuse = {"lead@example.org"}
    settings = settings_of(channels=[_mail(smtp.port)])
    raise_alert(intent(), settings)
    summary = dispatch_once(db, settings, now=T0)
    assert [a.outcome for a in summary.attempts] == ["sent"]
    assert "lead@example.org" in (summary.attempts[0].error or "")
    assert smtp.messages[0][1] == ["analyst@example.org"]


@pytest.mark.parametrize("title", ["plain", "ünïcödé ✓", "a\rb\nc\x00d\u2028e\u0085f", "x" * 500,
                                   "=?utf-8?q?Bcc=3A_x=40evil?=", "Subject: spoofed\r\n\r\nbody"])
def test_built_headers_are_always_one_safe_line(title):
    ch = EmailChannel.model_validate(_mail(25))
    base = sample_message("analysts", T0, None)
    alerts = [{**base.payload["alerts"][0], "top_articles": [{"title": title, "url": None}]}]
    message = replace(base, payload={**base.payload, "type": "alerts", "alerts": alerts})
    raw = build_message(ch, message).as_bytes()  # with its own policy, as smtplib sends it
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert raw.isascii()
    lines = head.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    # Header lines start a field or continue one (folded with whitespace); no blank line in the header block.
    assert all(line[:1] in (b" ", b"\t") or b":" in line for line in lines)
    parsed = _parse(raw)
    assert parsed.defects == [] and parsed["Bcc"] is None
    assert [k for k in parsed if k.lower() == "subject"] == ["Subject"]
    subject = str(parsed["Subject"])
    assert len(subject) <= 150 and "\n" not in subject and "\r" not in subject
    if title == "plain":
        assert subject.endswith("- plain")
