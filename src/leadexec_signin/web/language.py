"""Each request's language, and templates that speak it.

``LanguageMiddleware`` (pure ASGI) picks the language before any route runs, from the person's
explicit choice (``?lang=`` from the language menu, then remembered in a cookie), the partner's
``ui_locales`` / ``hl``, and ``Accept-Language``. The signed-in user's LeadExec locale is only
known once a route has found the session, so ``LocalizedTemplates`` applies it when a page
that shows a user is rendered, ranked below the choice and the partner's request.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from starlette.background import BackgroundTask
from starlette.datastructures import URL, QueryParams
from starlette.requests import Request
from starlette.templating import Jinja2Templates, _TemplateResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadexec_signin import i18n
from leadexec_signin.core.errors import SigninError
from leadexec_signin.settings import Settings
from leadexec_signin.web.security.cookies import cookie_name

COOKIE = "le_lang"
_YEAR = 365 * 24 * 3600
# How the language was chosen, strongest first; the user's locale ranks between the partner's
# request and the browser's.
CHOSEN, REQUESTED, BROWSER = "chosen", "requested", "browser"


# Answers read by programs only (a partner's backend, a monitor, a library's discovery): no
# sentence in them is for a person, so they skip the negotiation, which the token exchange,
# the busiest path, would otherwise pay on every call.
MACHINE_PATHS = (
    "/api/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/oauth2/token",
    "/oauth2/userinfo",
    "/oauth2/jwks",
    "/oauth2/revoke",
    "/oauth2/introspect",
    "/.well-known/",
    "/signin/button.",
    "/signin/keys",
)


class LanguageMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.cookie = cookie_name(settings, COOKIE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(MACHINE_PATHS):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        picked = i18n.supported(request.query_params.get("lang"))
        remembered = i18n.supported(request.cookies.get(self.cookie))
        requested = _requested(request.query_params)
        language = i18n.negotiate(
            chosen=picked or remembered,
            requested=requested,
            accept_language=request.headers.get("accept-language", ""),
        )
        if picked or remembered:
            how = CHOSEN
        elif requested and i18n.negotiate(requested=requested, accept_language="") == language:
            how = REQUESTED
        else:
            how = BROWSER
        state = scope.setdefault("state", {})
        state["language_choice"] = how
        state["language_requested"] = (
            i18n.negotiate(requested=requested) if how == REQUESTED else None
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-language", i18n.current().encode()))
                if picked and picked != remembered:
                    # The person's own choice from the menu: kept for a year on this browser.
                    secure = "; Secure" if self.settings.secure_cookies else ""
                    cookie = (
                        f"{self.cookie}={picked}; Path=/; Max-Age={_YEAR}; HttpOnly; "
                        f"SameSite=Lax{secure}"
                    )
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        with i18n.using(language):
            await self.app(scope, receive, send_with_cookie)


def _requested(query: Any) -> str | None:
    """The partner's ``ui_locales`` / ``hl``, on this address or, for the sign-in page a popup
    sends a person to, on the page it returns to (``next``, a path of this site)."""
    found = query.get("ui_locales") or query.get("hl")
    if found:
        return str(found)
    after = str(query.get("next") or "")
    if after.startswith("/") and not after.startswith(("//", "/\\")) and "?" in after:
        inner = QueryParams(after.split("?", 1)[1])
        return inner.get("ui_locales") or inner.get("hl")
    return None


def requested_language(request: Request) -> str | None:
    """The language the partner asked for, when it decided this request's language: links
    and forms that continue the flow carry it on (``hl``)."""
    found = request.scope.get("state", {}).get("language_requested")
    return str(found) if found else None


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, shared by every ``LocalizedTemplates`` (all are
    configured alike): a server builds one application, but each one built after it (the
    tests build one per test) compiled every page it showed again, 17% of their CPU. Jinja
    checks each entry against the checksum of its template's source."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


class LocalizedTemplates(Jinja2Templates):
    """Jinja templates with ``_()`` and the language menu; a page showing a signed-in user
    switches to the user's LeadExec locale unless the person or the partner chose one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.env.bytecode_cache = COMPILED
        self.env.add_extension("jinja2.ext.i18n")
        # The i18n extension adds this method at run time, where Jinja's types cannot see it.
        self.env.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.escaped_gettext, i18n.escaped_ngettext, newstyle=True
        )
        self.env.globals["describe"] = describe
        self.env.filters["datetime"] = i18n.format_datetime
        self.env.filters["number"] = i18n.format_number
        self.env.filters["date"] = date_for
        self.env.filters["datetime_for"] = datetime_for

    def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        context = dict(context or {})
        user = context.get("user")
        if request.scope.get("state", {}).get("language_choice") == BROWSER:
            account = i18n.supported(getattr(user, "locale", None))
            if account:
                i18n.switch(account)
        context["lang"] = i18n.current()
        context["languages"] = [
            (code, label, str(_with_language(request.url, code)))
            for code, label in i18n.NAMES.items()
        ]
        return super().TemplateResponse(
            request, name, context, status_code, headers, media_type, background
        )


@functools.cache
def _defaults() -> dict[str, str]:
    """Each refusal code's own sentence, read at first use: by then every module defining a
    refusal (core/errors.py, core/device_codes.py...) has been imported."""
    found: dict[str, str] = {}
    pending: list[type[SigninError]] = [SigninError]
    while pending:
        kind = pending.pop()
        found.setdefault(kind.code, kind.description)
        pending.extend(kind.__subclasses__())
    return found


def describe(text: str | None, code: str | None = None) -> str:
    """A refusal's sentence for a person, in their language: its own translation, or, where
    the catalog has none (a sentence naming a value), the translated general sentence of its
    error code, so a French page never shows an English sentence. English shows it as is."""
    text = text or ""
    if i18n.current() == i18n.DEFAULT:
        return text
    translated = i18n.gettext(text) if text else text
    if translated != text:
        return translated
    general = _defaults().get(code or "", SigninError.description)
    return i18n.gettext(general)


def zone_of(user: object) -> tzinfo:
    """The user's LeadExec time zone; UTC for a missing or unknown one."""
    try:
        return ZoneInfo(str(getattr(user, "timezone", "") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def date_for(value: datetime, user: object = None) -> str:
    """A day as the reader's language writes it, in the user's time zone."""
    return i18n.format_date(_aware(value).astimezone(zone_of(user)))


def datetime_for(value: datetime, user: object = None) -> str:
    """A moment in the reader's language and the user's time zone, with the zone's name."""
    local = _aware(value).astimezone(zone_of(user))
    return f"{i18n.format_datetime(local, local.tzinfo, 'medium')} {local.tzname() or ''}".strip()


def _with_language(url: URL, code: str) -> URL:
    """The same page in another language: the path and its query (a popup keeps its button,
    origin and state), relative to this origin."""
    query = url.include_query_params(lang=code).query
    path = url.path if not url.path.startswith(("//", "/\\")) else "/"
    return URL(f"{path}?{query}")
