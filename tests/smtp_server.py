"""A real SMTP server for the tests (aiosmtpd on a free loopback port): the provider sends to
it over smtplib exactly as it would to a production relay, and the tests read what arrived and
follow the links in it."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

LINK = re.compile(r"https?://[^\s]+/account/[a-z/]+\?token=[A-Za-z0-9_%-]+")


@dataclass(frozen=True)
class Received:
    to: tuple[str, ...]
    mail: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.mail["Subject"])

    @property
    def text(self) -> str:
        return self.mail.get_content()  # type: ignore[no-any-return]

    @property
    def link(self) -> str:
        found = LINK.findall(self.text)
        assert len(found) == 1, f"expected one link in {self.subject!r}: {found}"
        return found[0]


class Inbox:
    """What the server accepted; ``refuse`` makes it answer every message with a 451."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse = False
        self.changed = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 Try again later"
        assert isinstance(envelope.content, bytes)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        with self.changed:
            self.received.append(Received(tuple(envelope.rcpt_tos), mail))  # type: ignore[arg-type]
            self.changed.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self.changed:
            return [m for m in self.received if address in m.to]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` messages to ``address``, waiting for the mailer's thread (a
        condition wait, woken by each delivery: no sleeping)."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.to_locked(address)) >= count, timeout)
            found = self.to_locked(address)
        assert len(found) >= count, f"{len(found)} of {count} messages to {address} arrived"
        return found[:count]

    def to_locked(self, address: str) -> list[Received]:
        return [m for m in self.received if address in m.to]

    def clear(self) -> None:
        with self.changed:
            self.received.clear()
            self.refuse = False


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_smtp_server(**options: object) -> Iterator[SmtpServer]:
    """For a module's fixture: one server, its inbox emptied by each test's ``smtp``.
    ``options`` go to aiosmtpd (``ssl_context`` for TLS from the first byte, ``tls_context``
    for STARTTLS, an ``authenticator``)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


def path_of(link: str, issuer: str) -> str:
    """A link from a mail as a path for the test client, once it is known to name ``issuer``."""
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == issuer
    return f"{parts.path}?{parts.query}"
