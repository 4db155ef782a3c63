"""The mail port: what the core hands over to be sent, and nothing about how.

The core composes plain-text messages (a verification link, a reset link, a notice) and gives
them to a :class:`Mailer` after its transaction has committed, so a slow mail server never
holds a database lock. ``leadexec_signin/mailers.py`` implements it over SMTP, the log, and the
demo's outbox page.

Each message is a template, ``templates/mail_<name>.txt``: a ``subject`` block and a ``text``
block, each one ``{% trans %}`` sentence (English msgid, extracted into the catalogs by
``babel.cfg``). :func:`compose` renders it in the language current where it is called, the
request's for a person's own request, the recipient's LeadExec locale under ``i18n.using``
otherwise, and records that language for the ``Content-Language`` header. Values (a name, a
link) are filled in after translation and never translated; nothing is escaped, since a mail
is plain text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import jinja2

from leadexec_signin import i18n

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    language: str = i18n.DEFAULT  # what subject and text are written in (Content-Language)


def compose(to: str, template: str, **values: object) -> Message:
    """The message of ``templates/mail_<template>.txt`` in the current language."""
    mail = _templates().get_template(f"mail_{template}.txt")
    context = mail.new_context(values)
    return Message(
        to,
        "".join(mail.blocks["subject"](context)),
        "".join(mail.blocks["text"](context)),
        language=i18n.current(),
    )


@functools.cache
def _templates() -> jinja2.Environment:
    # Old-style gettext: Jinja translates each {% trans %} and then fills in its values with
    # ``%``; a value the template names but no caller gave raises. No escaping: a mail is
    # plain text, never read as HTML.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        extensions=["jinja2.ext.i18n"],
        autoescape=False,  # noqa: S701
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=False)  # type: ignore[attr-defined]
    return env


class Mailer(Protocol):
    def send(self, message: Message) -> None:
        """Hand a message over for delivery. Must not raise for a delivery failure: the
        account work it follows is done, and the person can ask for the mail again."""
        ...
