"""The languages people read our pages in: which one a request gets, and its catalog.

English is the source language; French, German and Spanish come from gettext catalogs in
``locales/<lang>/LC_MESSAGES/messages.po``, compiled in memory the first time a process needs
them (a few milliseconds), so no compiled binary is committed and an editable install needs no
build step. ``pybabel`` extracts, updates and checks them (``docs/i18n.md``).

The language is chosen once per request from, in order: the person's explicit choice on the
page (remembered in a cookie), what the partner passed (``ui_locales`` / ``hl``, the button's
``data-lang``), the signed-in user's LeadExec locale, and the browser's ``Accept-Language``.
Only the words change: error codes, JSON keys and every machine-read field stay as they are.
"""

from __future__ import annotations

import contextlib
import functools
import gettext as stdlib_gettext
import io
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, tzinfo
from pathlib import Path

from babel import Locale
from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as babel_decimal
from babel.support import Translations
from markupsafe import Markup, escape

LANGUAGES = ("en", "fr", "de", "es")
DEFAULT = "en"
# Each language named in itself, for the language menu.
NAMES = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español"}
LOCALES = Path(__file__).resolve().parent / "locales"
# Accept-Language is client input: only its first few entries are looked at.
_MAX_ACCEPT_ENTRIES = 16

_current: ContextVar[str] = ContextVar("leadexec_language", default=DEFAULT)


def supported(tag: str | None) -> str | None:
    """The language of a tag such as ``fr-CA`` or ``de_DE`` if we have it, else None."""
    if not tag or len(tag) > 35:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str) -> str | None:
    """The best supported language of an ``Accept-Language`` header (RFC 9110 section 12.5.4),
    by quality, ties in the header's order; ``*`` and unknown tags are skipped."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header[:1024].split(",")[:_MAX_ACCEPT_ENTRIES]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = supported(tag)
        if language and 0 < quality <= 1:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None


def negotiate(
    *,
    chosen: str | None = None,
    requested: str | None = None,
    account: str | None = None,
    accept_language: str = "",
) -> str:
    """The page's language. ``requested`` may be a space-separated list (``ui_locales``)."""
    for candidate in (chosen, *(requested or "").split()[:8], account):
        language = supported(candidate)
        if language:
            return language
    return from_accept_language(accept_language) or DEFAULT


@functools.cache
def translations(language: str) -> stdlib_gettext.NullTranslations:
    if language == DEFAULT or language not in LANGUAGES:
        return stdlib_gettext.NullTranslations()
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def current() -> str:
    return _current.get()


@contextlib.contextmanager
def using(language: str) -> Iterator[None]:
    """Everything rendered inside speaks ``language`` (per request: a context variable)."""
    token = _current.set(language if language in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def switch(language: str) -> None:
    """Change the current request's language once more is known (the signed-in user)."""
    _current.set(language if language in LANGUAGES else DEFAULT)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where shown."""
    return message


def escaped_gettext(message: str) -> Markup:
    """Templates' ``_()`` (installed as Jinja's new-style gettext, which then fills in the
    variables, each escaped): the translation itself is data and is escaped too, so a catalog
    entry holding markup shows as text instead of becoming markup."""
    return escape(gettext(message))


def escaped_ngettext(singular: str, plural: str, n: int) -> Markup:
    return escape(ngettext(singular, plural, n))


def format_datetime(value: datetime, zone: tzinfo | None = None, form: str = "medium") -> str:
    """A date and time as the reader's language writes it, in their time zone."""
    return babel_datetime(value, format=form, tzinfo=zone, locale=Locale.parse(current()))


def format_date(value: datetime, form: str = "medium") -> str:
    return babel_date(value, format=form, locale=Locale.parse(current()))


def format_number(value: float) -> str:
    return babel_decimal(value, locale=Locale.parse(current()))


def extract_descriptions(
    fileobj: io.BufferedReader, keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, str, str, list[str]]]:
    """pybabel's extractor for the core's words (``babel.cfg``): each error class's default
    ``description`` (the sentence a person sees when nothing more specific can be said) and
    the scopes' descriptions (``SCOPES``, ``OPENID_WORDS``), so the core needs no marker and
    no import of this module."""
    import ast

    def text(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    for node in ast.walk(ast.parse(fileobj.read())):
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if not isinstance(target, ast.Name) or value is None:
            continue
        if target.id in ("description", "OPENID_WORDS") and text(value):
            yield target.lineno, "gettext", text(value) or "", [target.id]
        elif target.id == "SCOPES" and isinstance(value, ast.Dict):
            for key, words in zip(value.keys, value.values, strict=True):
                if text(words):
                    yield words.lineno, "gettext", text(words) or "", [f"scope {text(key)}"]
