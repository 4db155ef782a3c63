"""The mail port: what the core hands over to be sent, and nothing about how.

The core composes plain-text messages (a verification link, a reset link, a notice) and gives
them to a :class:`Mailer` after its transaction has committed, so a slow mail server never
holds a database lock. ``leadexec_signin/mail.py`` implements it over SMTP, the log, and the
demo's outbox page.

Each message is written in one language: :func:`compose` translates its subject and text
(English msgids, marked with ``N_`` where the use case writes them) into the language current
where it is called, the request's for a person's own request, the recipient's LeadExec locale
under ``i18n.using`` otherwise, and records it for the ``Content-Language`` header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from leadexec_signin import i18n


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    language: str = i18n.DEFAULT  # what subject and text are written in (Content-Language)


def compose(to: str, subject: str, text: str, **values: object) -> Message:
    """A message in the current language: ``subject`` and ``text`` are msgids, translated
    first and then given their ``%(name)s`` values (a name or a link is never translated)."""
    return Message(
        to,
        _filled(i18n.gettext(subject), values),
        _filled(i18n.gettext(text), values),
        language=i18n.current(),
    )


def _filled(template: str, values: dict[str, object]) -> str:
    return template % values if values else template


class Mailer(Protocol):
    def send(self, message: Message) -> None:
        """Hand a message over for delivery. Must not raise for a delivery failure: the
        account work it follows is done, and the person can ask for the mail again."""
        ...
