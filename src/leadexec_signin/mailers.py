"""The mailers behind ``core/mail.py``: SMTP (stdlib ``smtplib``), the log, and the demo's
outbox page; and a queue that sends from a thread of its own.

Requests never wait for a mail server: :class:`QueuedMailer` hands each message to one worker
thread per process, so a slow or unreachable server costs a request nothing (and a known
address answers as fast as an unknown one, which sends nothing). The price is that a message
queued when the process dies is lost; every mail here is one the person can ask for again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import queue
import smtplib
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from leadexec_signin.core.clock import Clock
from leadexec_signin.core.mail import Mailer, Message
from leadexec_signin.settings import Settings

# Named for what it logs, not for this module: operators filter on it (docs/operations.md).
log = logging.getLogger("leadexec_signin.mail")

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    username: str
    password: str

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("not an smtp://, smtps:// or smtp+starttls:// URL")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )


def email_message(message: Message, sender: str, at: datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(at)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mail["Message-ID"] = make_msgid(domain=domain)
    mail.set_content(message.text)
    mail["Content-Language"] = message.language  # after set_content, which clears Content-*
    return mail


def tls_context() -> ssl.SSLContext:
    """Certificates and host names are checked, as for any TLS client. Made only for a
    conversation that uses TLS: reading the system's certificates costs about 20 ms of CPU."""
    return ssl.create_default_context()


class SmtpMailer:
    """One SMTP conversation per message: the account pages send a few a minute, and a fresh
    connection cannot be found half-closed by the server."""

    def __init__(self, url: str, sender: str, clock: Clock, timeout: float = 10.0) -> None:
        self.target = SmtpTarget.parse(url)
        self.sender = sender
        self.clock = clock
        self.timeout = timeout

    def send(self, message: Message) -> None:
        t = self.target
        mail = email_message(message, self.sender, self.clock.now())
        smtp: smtplib.SMTP
        if t.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout, context=tls_context())
        else:
            smtp = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
        with smtp:
            if t.scheme == "smtp+starttls":
                smtp.starttls(context=tls_context())
            if t.username:
                smtp.login(t.username, t.password)
            smtp.send_message(mail)


class LogMailer:
    """Without a mail server: the whole message goes to the log, link included, so someone
    running the service locally can follow it. Other log lines never carry a link."""

    def send(self, message: Message) -> None:
        log.info("mail to=%s subject=%r\n%s", message.to, message.subject, message.text)


@dataclass(frozen=True)
class Sent:
    at: datetime
    message: Message


class DevOutbox:
    """The last messages sent, for ``/dev/outbox`` (development and the demo). With a file,
    every process of the same data directory shares it: a command-line approval's mail shows
    on the demo's outbox page. One JSON line a message, appended (a line this short is written
    in one piece), the last ``keep`` read back."""

    def __init__(
        self, inner: Mailer, clock: Clock, keep: int = 50, file: Path | None = None
    ) -> None:
        self.inner = inner
        self.clock = clock
        self.keep = keep
        self.file = file
        self._sent: deque[Sent] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        sent = Sent(self.clock.now(), message)
        with self._lock:
            if self.file is None:
                self._sent.appendleft(sent)
            else:
                line = json.dumps({"at": sent.at.isoformat(), **dataclasses.asdict(message)})
                self.file.parent.mkdir(parents=True, exist_ok=True)
                with self.file.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
        self.inner.send(message)

    def messages(self) -> list[Sent]:
        """Newest first."""
        with self._lock:
            if self.file is None:
                return list(self._sent)
            try:
                lines = self.file.read_text(encoding="utf-8").splitlines()[-self.keep :]
            except FileNotFoundError:
                return []
        sent = []
        for line in reversed(lines):
            with contextlib.suppress(ValueError, TypeError, KeyError):  # a torn last line
                data = json.loads(line)
                at = datetime.fromisoformat(data.pop("at"))
                sent.append(Sent(at, Message(**data)))
        return sent


class QueuedMailer:
    """Sends from one daemon thread, started at the first message (a command that sends
    nothing starts nothing). A failure is logged (recipient domain and the error's type,
    never the message) and the message dropped."""

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self._queue: queue.Queue[Message | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
                self._thread.start()
        self._queue.put(message)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            try:
                self.inner.send(message)
            except Exception as exc:  # the person asks again; the server stays up
                domain = message.to.rpartition("@")[2]
                log.warning("mail to a @%s address not sent: %s", domain, type(exc).__name__)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for up to ``timeout`` seconds), then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)


def build_mailer(
    settings: Settings, clock: Clock
) -> tuple[Mailer, QueuedMailer | None, DevOutbox | None]:
    """The mailer the account pages use, the queue to close at shutdown, and the outbox the
    development page reads (None unless ``LEADEXEC_DEV_OUTBOX`` is on)."""
    queued: QueuedMailer | None = None
    mailer: Mailer
    if settings.smtp_url:
        smtp = SmtpMailer(
            settings.smtp_url, settings.mail_sender, clock, settings.smtp_timeout_seconds
        )
        mailer = queued = QueuedMailer(smtp)
    else:
        mailer = LogMailer()
    outbox = (
        DevOutbox(mailer, clock, file=settings.data_dir / "dev-outbox.jsonl")
        if settings.dev_outbox
        else None
    )
    return (outbox or mailer), queued, outbox
