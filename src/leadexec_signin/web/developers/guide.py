"""The console's reading pages: the documentation, with a complete page to copy, and Try It,
where the buttons can be tried on this server."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.apps import LOOPBACK_HOSTS, Application, Button
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.developers.layout import console_page, provider_host
from leadexec_signin.web.developers.snippets import button_markup, complete_page
from leadexec_signin.web.pages import current_user, require_user


async def docs_page(request: Request) -> Response:
    user = await require_user(request)
    host = provider_host(request)
    example_app = Application(
        id="APP_ID", name="Your application", owner_id=None, status="pending",
        scopes=frozenset(), origins=(),
    )  # fmt: skip
    example = complete_page(host, example_app, Button(id="BTN_ID", app_id="APP_ID",
                                                     scopes=frozenset()))  # fmt: skip
    return console_page(
        request,
        "developer_docs.html",
        user,
        "docs",
        {
            "title": N_("Documentation"),
            "issuer": services(request).settings.issuer,
            "complete": example,
            "loopback": [f"http://{h}:PORT" for h in LOOPBACK_HOSTS],
        },
    )


async def try_it(request: Request) -> Response:
    svc = services(request)
    button = await call(svc.console.try_it_button)
    user = await current_user(request)
    owned = await call(svc.console.buttons_for_owner, user) if user else []
    here = f"{request.url.scheme}://{request.url.netloc}"
    response = console_page(
        request,
        "try_it.html",
        user,
        "try",
        {
            "btn_id": button.id,
            "title": N_("Try It"),
            "owned": owned,
            "here": here,
            "markup": {b.id: button_markup(b) for _, buttons in owned for b in buttons},
        },
    )
    # The SDK on this page frames the silent check on this same origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        "img-src 'self' https: data:; connect-src 'self'; frame-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response
