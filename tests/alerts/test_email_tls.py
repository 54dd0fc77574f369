"""Email over STARTTLS with login and over implicit TLS, against a real aiosmtpd server with a fresh certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from alerts_support import T0, free_port

from pipeline.alerts.channels.mail import send_email
from pipeline.alerts.settings import EmailChannel
from pipeline.alerts.testsend import sample_message
from pipeline.errors import DeliveryError


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(crt), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return crt, key


class _Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(bytes(envelope.original_content))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        user, password = data.login.decode(), data.password.decode()
        self.logins.append((user, password))
        return AuthResult(success=(user, password) == ("monitor", "s3cret"), handled=False)


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


@pytest.fixture
def starttls_server(cert: tuple[Path, Path]) -> Iterator[tuple[_Sink, int]]:
    sink, port = _Sink(), free_port()
    c = Controller(sink, hostname="127.0.0.1", port=port, tls_context=_server_context(cert), require_starttls=True,
                   authenticator=sink.authenticate, auth_require_tls=True)
    c.start()
    yield sink, port
    c.stop()


def _channel(port: int, **extra: Any) -> EmailChannel:
    return EmailChannel.model_validate({"name": "m", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": port,
                                        "sender": "monitor@example.org", "to": ["a@example.org"], "timeout": "3s",
                                        **extra})


def test_starttls_and_login(cert, starttls_server):
    sink, port = starttls_server
    ch = _channel(port, starttls=True, ca_file=str(cert[0]), username="monitor", password="s3cret")
    assert send_email(ch, sample_message("m", T0, None)) is None
    assert sink.logins == [("monitor", "s3cret")] and len(sink.messages) == 1


def test_wrong_password_is_permanent(cert, starttls_server):
    _, port = starttls_server
    ch = _channel(port, starttls=True, ca_file=str(cert[0]), username="monitor", password="nope")
    with pytest.raises(DeliveryError) as err:
        send_email(ch, sample_message("m", T0, None))
    assert err.value.permanent and "535" in str(err.value)


def test_untrusted_certificate_is_refused(starttls_server):
    _, port = starttls_server
    with pytest.raises(DeliveryError) as err:
        send_email(_channel(port, starttls=True), sample_message("m", T0, None))
    assert err.value.permanent and "certificate" in str(err.value)


def test_plain_connection_to_a_server_requiring_starttls_fails(starttls_server):
    _, port = starttls_server
    with pytest.raises(DeliveryError) as err:
        send_email(_channel(port), sample_message("m", T0, None))
    assert "530" in str(err.value)


def test_implicit_tls(cert):
    sink, port = _Sink(), free_port()
    c = Controller(sink, hostname="127.0.0.1", port=port, ssl_context=_server_context(cert))
    c.start()
    try:
        assert send_email(_channel(port, tls=True, ca_file=str(cert[0])), sample_message("m", T0, None)) is None
        assert len(sink.messages) == 1
    finally:
        c.stop()
