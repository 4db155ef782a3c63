"""The SMTP mailer against a real server (aiosmtpd) in each of its three forms: TLS from the
first byte (``smtps://``), STARTTLS (``smtp+starttls://``) and plain (``smtp://``), with a
login where the URL has one, and the server's certificate checked."""

from __future__ import annotations

import datetime as dt
import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.mail import Message
from leadexec_signin.mailers import QueuedMailer, SmtpMailer
from smtp_server import SmtpServer, running_smtp_server

SENDER = "LeadExec <id@example.com>"
MESSAGE = Message("pat@example.com", "Hello", "A line\nhttp://127.0.0.1:8000/account/x\n")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the server's), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


class Logins:
    """The server's authenticator: accepts one user, remembers every attempt."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.seen.append((login, password))
        # handled=False: aiosmtpd then answers the refusal (535) itself.
        return AuthResult(
            success=(login, password) == ("id@example.com", "p:ss w@rd"), handled=False
        )


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The test certificate is a trusted root, the way a real server's CA is (the mailer
    uses the system's trust store, which honours SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


@pytest.fixture
def smtps(certificate: tuple[Path, Path]) -> Iterator[tuple[SmtpServer, Logins]]:
    logins = Logins()
    with running_smtp_server(
        ssl_context=server_context(certificate),
        authenticator=logins,
        auth_require_tls=False,
    ) as server:
        yield server, logins


@pytest.fixture
def starttls(certificate: tuple[Path, Path]) -> Iterator[tuple[SmtpServer, Logins]]:
    logins = Logins()
    with running_smtp_server(
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=logins,
        auth_require_tls=True,
    ) as server:
        yield server, logins


CREDENTIALS = "id%40example.com:p%3Ass%20w%40rd"


def test_smtps_speaks_tls_from_the_first_byte_and_logs_in(trusted, smtps) -> None:
    server, logins = smtps
    url = f"smtps://{CREDENTIALS}@127.0.0.1:{server.port}"
    SmtpMailer(url, SENDER, FrozenClock()).send(MESSAGE)
    [mail] = server.inbox.wait_for("pat@example.com")
    assert (mail.subject, mail.mail["From"]) == ("Hello", SENDER)
    assert mail.text.replace("\r\n", "\n") == MESSAGE.text
    assert mail.mail["Message-ID"].endswith("@example.com>")
    assert logins.seen == [("id@example.com", "p:ss w@rd")]


def test_starttls_upgrades_before_logging_in(trusted, starttls) -> None:
    server, logins = starttls
    url = f"smtp+starttls://{CREDENTIALS}@127.0.0.1:{server.port}"
    SmtpMailer(url, SENDER, FrozenClock()).send(MESSAGE)
    [mail] = server.inbox.wait_for("pat@example.com")
    assert mail.subject == "Hello"
    # The server refuses AUTH before STARTTLS (auth_require_tls): the login happened after.
    assert logins.seen == [("id@example.com", "p:ss w@rd")]


def test_a_plain_smtp_url_is_refused_by_a_server_that_requires_starttls(starttls) -> None:
    server, logins = starttls
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        SmtpMailer(f"smtp://127.0.0.1:{server.port}", SENDER, FrozenClock()).send(MESSAGE)
    assert refused.value.smtp_code == 530  # "Must issue a STARTTLS command first"
    assert server.inbox.to("pat@example.com") == [] and logins.seen == []


def test_a_certificate_that_is_not_trusted_stops_the_message(smtps) -> None:
    server, logins = smtps
    url = f"smtps://{CREDENTIALS}@127.0.0.1:{server.port}"
    with pytest.raises(ssl.SSLCertVerificationError):
        SmtpMailer(url, SENDER, FrozenClock()).send(MESSAGE)
    assert logins.seen == []  # the password never left


def test_a_wrong_password_is_a_logged_failure_not_a_crash(
    trusted, smtps, caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = smtps
    url = f"smtps://id%40example.com:wrong@127.0.0.1:{server.port}"
    queued = QueuedMailer(SmtpMailer(url, SENDER, FrozenClock()))
    queued.send(MESSAGE)
    queued.close()
    assert "mail to a @example.com address not sent: SMTPAuthenticationError" in caplog.text
    assert "wrong" not in caplog.text and server.inbox.to("pat@example.com") == []
