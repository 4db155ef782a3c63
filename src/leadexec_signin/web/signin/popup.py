"""The sign-in popup (``/signin/authorize``), the silent iframe (``/signin/immediate``), the
button configuration the SDK reads, and the SDK's own files.

Each route parses the request, makes one call to the sign-in use case and renders its outcome;
refusals are rendered by the ``/signin`` surface as result pages (``results.py``).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlencode

import brotli  # type: ignore[import-untyped]  # Brotli ships no type information
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin import i18n
from leadexec_signin.core.actions.signin import (
    ConsentNeeded,
    Done,
    LoginNeeded,
    as_immediate_failure,
)
from leadexec_signin.core.apps import DEFAULT_BUTTON_TEXT
from leadexec_signin.core.authorize import AuthorizeRequest, is_btn_id
from leadexec_signin.core.errors import InvalidRequest, SigninError, UnknownButton
from leadexec_signin.core.scopes import ordered
from leadexec_signin.i18n import N_
from leadexec_signin.web import consent
from leadexec_signin.web.context import PACKAGE, call, services
from leadexec_signin.web.language import requested_language
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import session_cookie
from leadexec_signin.web.security.csrf import check_csrf
from leadexec_signin.web.signin.results import claimed_origin, remember, result_page


def read_request(values: dict[str, str], *, immediate: bool) -> AuthorizeRequest:
    return AuthorizeRequest(
        btn_id=values.get("btnId") or values.get("btnid") or "",
        origin=values.get("origin", ""),
        state=values.get("state", ""),
        immediate=immediate,
    )


def query_values(request: Request) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in ("btnId", "btnid", "origin", "state"):
            if name in values:
                raise InvalidRequest(f"The parameter {name} was sent more than once.")
            values[name] = value[:600]
    return values


def authorize_url(req: AuthorizeRequest, hl: str | None = None) -> str:
    """The popup's own address; ``hl`` keeps the language the partner asked for."""
    query = {"btnId": req.btn_id, "origin": req.origin, "state": req.state}
    return "/signin/authorize?" + urlencode({**query, "hl": hl} if hl else query)


def login_redirect(
    req: AuthorizeRequest, hl: str | None = None, why: LoginNeeded | None = None
) -> Response:
    """To the sign-in form; for an application that requires two-step sign-in, to sign in
    with a second factor, or to add one first (``/account/security``)."""
    where = "/account/security" if why and why.enrol else "/account/login"
    step = f"&step={why.step}" if why and why.step else ""
    return RedirectResponse(
        f"{where}?next=" + quote(authorize_url(req, hl), safe="") + step, status_code=303
    )


def popup_consent(request: Request, asked: ConsentNeeded) -> Response:
    ctx = asked.ctx
    hl = requested_language(request)
    return consent.consent_dialog(
        request,
        app=ctx.app,
        origin=ctx.request.origin,
        user=asked.user,
        ask=asked.ask,
        had=asked.had,
        shown=asked.shown,
        form_action="/signin/authorize" + (f"?hl={hl}" if hl else ""),
        hidden=[
            ("btnId", ctx.request.btn_id),
            ("origin", ctx.request.origin),
            ("state", ctx.request.state),
        ],
        switch_next=authorize_url(ctx.request, hl),
        headers={"Referrer-Policy": "same-origin"},
    )


async def authorize_get(request: Request) -> Response:
    values = query_values(request)
    req = remember(request, read_request(values, immediate=False), "popup")
    return await _popup(request, req, decision=None, shown=None)


async def authorize_post(request: Request) -> Response:
    settings = services(request).settings
    form = await request.form(max_files=0, max_fields=16)
    check_csrf(request, settings, form.get("csrf"))
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    req = remember(request, read_request(values, immediate=False), "popup")
    decision = values.get("decision")
    if decision not in ("allow", "cancel"):
        raise InvalidRequest("Choose Allow or Cancel.")
    return await _popup(request, req, decision=decision, shown=values.get("scopes", ""))


async def _popup(
    request: Request, req: AuthorizeRequest, *, decision: str | None, shown: str | None
) -> Response:
    svc = services(request)
    if claimed_origin(req.origin) is None:
        raise InvalidRequest(
            "This sign-in link is missing the page's origin, so the result could not be "
            "returned safely. Close this window and try the button again."
        )
    outcome = await call(
        svc.signin.popup,
        req,
        session_cookie(request, svc.settings),
        client_ip(request, svc.settings),
        decision=decision,
        shown=shown,
    )
    if isinstance(outcome, LoginNeeded):
        return login_redirect(req, requested_language(request), outcome)
    if isinstance(outcome, ConsentNeeded):
        return popup_consent(request, outcome)
    assert isinstance(outcome, Done)
    return result_page(request, req, mode="popup", authorization=outcome.authorization)


async def immediate(request: Request) -> Response:
    """The silent check: never shows UI, answers immediate_failed when a prompt is needed.

    Only a frame may load it. Its status differs between "signed in and granted" and not,
    and it reads the cross-site session cookie: loaded as an image, object or prefetch by
    any page, that difference would leak, and each load would mint a refresh token. Browsers
    say what a load is for (``Sec-Fetch-Dest``); anything but a frame gets one constant
    answer before any lookup.
    """
    svc = services(request)
    dest = request.headers.get("sec-fetch-dest")
    if dest is not None and dest not in ("iframe", "frame"):
        raise InvalidRequest("The silent check answers only inside a frame.")
    remember(request, AuthorizeRequest("", "", "", immediate=True), "iframe")
    try:
        values = query_values(request)
    except SigninError as exc:
        failure = as_immediate_failure(exc)
        if failure is exc:
            raise
        raise failure from exc
    req = remember(request, read_request(values, immediate=True), "iframe")
    authorization = await call(
        svc.signin.silent,
        req,
        session_cookie(request, svc.settings, third_party=True),
        client_ip(request, svc.settings),
    )
    return result_page(request, req, mode="iframe", authorization=authorization)


# The SDK's own words, sent with each button's settings in the page's language so the script
# carries none of them (it stays small) and a callback's errorMessage reads like the page.
# Keys are the SDK's; "%s" is where it puts an error code.
SDK_MESSAGES = {
    "popup_closed": N_("The sign-in window was closed."),
    "popup_blocked": N_(
        "The browser blocked the sign-in window. Allow pop-ups for this site and try again."
    ),
    "immediate_failed": N_("The sign-in check did not answer."),
    "no_origin": N_(
        "This page has no origin of its own (a sandboxed frame?), so it cannot sign in."
    ),
    "dialog_closed": N_("The sign-in dialog was closed."),
    "refused": N_("LeadExec refused the sign-in (%s)."),
    "unreachable": N_("LeadExec could not be reached."),
}


async def button_config(request: Request) -> Response:
    """Public appearance of a button, read by the SDK before it draws (CORS: anyone). Its
    words follow the button's ``data-lang`` (``hl``), else the browser's language; the
    default button text is translated, a partner's own text never is."""
    btn_id = request.path_params["btn_id"]
    # Only a well-formed id reaches storage (a NUL byte would be a 500 on PostgreSQL).
    found = await call(services(request).registry.button, btn_id) if is_btn_id(btn_id) else None
    if found is None:
        raise UnknownButton()
    button, app = found
    return JSONResponse(
        {
            "btnId": button.id,
            "appId": app.id,
            "appName": app.name,
            "scopes": ordered(button.scopes),
            "theme": button.theme,
            "size": button.size,
            "text": i18n.gettext(text) if (text := button.text) == DEFAULT_BUTTON_TEXT else text,
            "lang": i18n.current(),
            "messages": {key: i18n.gettext(text) for key, text in SDK_MESSAGES.items()},
        },
        headers={
            "Access-Control-Allow-Origin": "*",
            "Cache-Control": "public, max-age=60",
            "Vary": "Accept-Language",
        },
    )


_TYPES = {".js": "application/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Asset:
    """One SDK file in each encoding a browser may take, compressed once per process."""

    media_type: str
    etag: str
    bodies: dict[str, bytes]  # "identity", "gzip", "br"


@lru_cache(maxsize=16)
def _asset(name: str) -> Asset:
    body = (PACKAGE / "static" / "signin" / name).read_bytes()
    return Asset(
        media_type=_TYPES[name[name.rindex(".") :]],
        etag=hashlib.sha256(body).hexdigest()[:20],
        bodies={
            "identity": body,
            "gzip": gzip.compress(body, 9, mtime=0),
            "br": brotli.compress(body, quality=11),
        },
    )


def chosen_encoding(accept: str) -> str:
    """brotli, then gzip, then none, as the request's Accept-Encoding allows (RFC 9110
    section 12.5.3; a coding with q=0 is refused)."""
    offered = set()
    for part in accept.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if params.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        offered.add(coding.strip())
    for coding in ("br", "gzip"):
        if coding in offered or "*" in offered:
            return coding
    return "identity"


def asset(name: str) -> Route:
    """The SDK files: compressed, cached briefly, revalidated by ETag (one per encoding);
    loadable from any partner page."""

    async def endpoint(request: Request) -> Response:
        found = _asset(name)
        encoding = chosen_encoding(request.headers.get("accept-encoding", ""))
        etag = f'"{found.etag}-{encoding}"' if encoding != "identity" else f'"{found.etag}"'
        headers = {
            "ETag": etag,
            "Cache-Control": "public, max-age=300, stale-while-revalidate=86400",
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
            # Partners (and bench/sdk_draw.py) may read what the SDK cost them on the wire.
            "Timing-Allow-Origin": "*",
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        return Response(found.bodies[encoding], media_type=found.media_type, headers=headers)

    return Route(f"/{name}", endpoint, methods=["GET", "HEAD"])


# Mounted under /signin, each list with its own renderer (web/app.py).
popup = [
    Route("/authorize", authorize_get, methods=["GET"]),
    Route("/authorize", authorize_post, methods=["POST"]),
    Route("/immediate", immediate, methods=["GET"]),
    asset("button.js"),
    asset("button.css"),
    asset("result.js"),
]
buttons = [Route("/{btn_id}", button_config, methods=["GET"])]
