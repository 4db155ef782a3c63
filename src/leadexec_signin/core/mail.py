"""The mail port: what the core hands over to be sent, and nothing about how.

The core composes plain-text messages (a verification link, a reset link, a notice) and gives
them to a :class:`Mailer` after its transaction has committed, so a slow mail server never
holds a database lock. ``leadexec_signin/mail.py`` implements it over SMTP, the log, and the
demo's outbox page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, message: Message) -> None:
        """Hand a message over for delivery. Must not raise for a delivery failure: the
        account work it follows is done, and the person can ask for the mail again."""
        ...
