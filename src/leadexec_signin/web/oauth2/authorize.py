"""``/oauth2/authorize``: the standard authorization endpoint (RFC 6749 section 3.1, OpenID
Connect Core section 3.1.2), with the popup's sign-in form and consent dialog.

GET and POST both carry an authorization request (OpenID Connect Core section 3.1.2.1); a POST
with ``decision`` is the consent dialog's answer (CSRF-checked). Refusals before the redirect
URI is known are rendered as a page by the surface this route is mounted in; after it, they go
back to the client (``SendBack``), by redirect or form post.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.authorize_code import AskConsent, SendBack, ShowLogin
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.oauth_authorize import AUTH_AFTER, PARAMETERS, OAuthRequest
from leadexec_signin.core.self_registered import domain_of
from leadexec_signin.web import consent
from leadexec_signin.web.context import call, services
from leadexec_signin.web.oauth2.params import collect, form_pairs
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import session_cookie
from leadexec_signin.web.security.csrf import check_csrf
from leadexec_signin.web.security.headers import page_csp

# A CSP source for where a form on our pages may lead (RFC 3986 scheme, then an origin):
# built only from this shape, so a redirect URI can never add a directive of its own.
_ORIGIN = re.compile(r"^(?:https?://[A-Za-z0-9.\-\[\]:]+|[a-z][a-z0-9+.\-]*:)$")


def form_target(uri: str) -> str:
    """What ``form-action`` must allow for a form whose answer redirects to ``uri``
    (Chromium checks the whole redirect chain of a form submission against it)."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        source = f"{parts.scheme}://{parts.netloc}"
    else:
        source = f"{parts.scheme}:"
    return source if _ORIGIN.fullmatch(source) else ""


def with_form_target(csp: str, uri: str) -> str:
    source = form_target(uri)
    return csp.replace("form-action 'self'", f"form-action 'self' {source}") if source else csp


def read_request(pairs: list[tuple[str, str]]) -> OAuthRequest:
    values, twice = collect(pairs)
    known: dict[str, Any] = {name: values[name] for name in PARAMETERS if name in values}
    return OAuthRequest(**known, duplicates=tuple(n for n in twice if n in PARAMETERS))


def authorize_url(params: dict[str, str]) -> str:
    return "/oauth2/authorize?" + urlencode(params)


def login_redirect(request: Request, out: ShowLogin) -> Response:
    params = out.ctx.request.continuation()
    if out.fresh:
        # Back here after signing in again: the new session must be at least this recent,
        # and prompt=login must not send the user round once more.
        prompts = set(params.get("prompt", "").split()) - {"login", "select_account"}
        params.pop("prompt", None)
        if prompts:
            params["prompt"] = " ".join(sorted(prompts))
        params[AUTH_AFTER] = str(int(services(request).clock.now().timestamp()))
    query = {"next": authorize_url(params)}
    if out.login_hint:
        query["login_hint"] = out.login_hint
    if out.step:
        query["step"] = out.step
    where = "/account/security?" if out.enrol else "/account/login?"
    return RedirectResponse(where + urlencode(query), status_code=303)


def oauth_consent(request: Request, out: AskConsent) -> Response:
    ctx = out.ctx
    params = ctx.request.continuation()
    redirect = ctx.target.redirect_uri
    # A document on one host may send the code to another: the person sees both.
    host = domain_of(redirect)
    return consent.consent_dialog(
        request,
        app=ctx.app,
        origin=form_target(redirect) or redirect,
        user=out.user,
        ask=out.ask,
        had=out.had,
        shown=out.shown,
        form_action="/oauth2/authorize",
        hidden=sorted(params.items()),
        switch_next=authorize_url(params),
        resource=ctx.resource,
        redirect_host=host if not ctx.app.reviewed and host != ctx.app.domain else "",
        headers={
            "Referrer-Policy": "same-origin",
            "Content-Security-Policy": with_form_target(page_csp(), redirect),
        },
    )


def send_back(request: Request, out: SendBack) -> Response:
    uri, params = out.target.redirect_uri, out.params
    if out.target.response_mode == "form_post":
        # OAuth 2.0 Form Post Response Mode: a page that posts the answer to the client;
        # the submit is a script of our own origin (no inline script under the CSP).
        return request.app.state.templates.TemplateResponse(
            request,
            "form_post.html",
            {"action": uri, "params": sorted(params.items()), "title": "Returning"},
            headers={
                "Content-Security-Policy": with_form_target(page_csp(), uri),
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
            },
        )
    joiner = "&" if urlsplit(uri).query else "?"
    return RedirectResponse(uri + joiner + urlencode(params), status_code=303)


async def _authorize(
    request: Request, req: OAuthRequest, decision: str | None, shown: str | None
) -> Response:
    svc = services(request)
    out = await call(
        svc.authorize_code.run,
        req,
        session_cookie(request, svc.settings),
        client_ip(request, svc.settings),
        decision=decision,
        shown=shown,
    )
    if isinstance(out, ShowLogin):
        return login_redirect(request, out)
    if isinstance(out, AskConsent):
        return oauth_consent(request, out)
    return send_back(request, out)


async def authorize_get(request: Request) -> Response:
    return await _authorize(request, read_request(request.query_params.multi_items()), None, None)


async def authorize_post(request: Request) -> Response:
    pairs = await form_pairs(request)
    values = dict(pairs)
    if "decision" not in values:
        return await _authorize(request, read_request(pairs), None, None)
    check_csrf(request, services(request).settings, values.get("csrf"))
    decision = values["decision"]
    if decision not in ("allow", "cancel"):
        raise InvalidRequest("Choose Allow or Cancel.")
    return await _authorize(request, read_request(pairs), decision, values.get("scopes", ""))


# Under /oauth2; refusals before the redirect URI is known are pages (web/app.py).
routes = [
    Route("/authorize", authorize_get, methods=["GET"]),
    Route("/authorize", authorize_post, methods=["POST"]),
]
