"""The FedCM identity provider (W3C Federated Credential Management, section 6): the
well-known file, the config file, accounts, client metadata, the identity assertion and
disconnect. Each route parses the browser's request, calls ``core/actions/fedcm.py`` once and
renders its answer; refusals are rendered by ``fedcm_renderer.py``.

Only the browser itself may call the credentialed endpoints: it marks its FedCM requests
``Sec-Fetch-Dest: webidentity``, a header no page can set (a forbidden request header), so a
page's own ``fetch`` with the cross-site session cookie is refused before any lookup.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.fedcm import ContinueNeeded
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.errors import InvalidRequest, LoginRequired, NotFound
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.fedcm.cors import allow_reading, readable_by
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import session_cookie
from leadexec_signin.web.signin.results import claimed_origin, result_object

CONFIG = "/fedcm/config.json"
ACCOUNTS = "/fedcm/accounts"
ASSERTION = "/fedcm/assertion"
CLIENT_METADATA = "/fedcm/client_metadata"
DISCONNECT = "/fedcm/disconnect"
# The browser opens this when it believes the user is signed out (Login Status API); the
# page after the sign-in tells it to go on (IdentityProvider.close()).
LOGIN_URL = "/account/login?next=" + quote("/fedcm/signed-in", safe="")
PUBLIC = {"Cache-Control": "public, max-age=300"}


def check_webidentity(request: Request) -> None:
    if request.headers.get("sec-fetch-dest") != "webidentity":
        raise InvalidRequest("This address answers only the browser's FedCM requests.")


def check_caller(request: Request) -> str:
    """The page that asked, as the browser names it: the only origin an answer may go to."""
    origin = claimed_origin(request.headers.get("origin", ""))
    if origin is None:
        raise InvalidRequest("The request names no origin.")
    return origin


async def check_readable(request: Request, app_id: str, origin: str) -> None:
    """Whatever this request is answered, success or refusal, is readable by ``origin`` only
    if it is registered for the application the browser named (``cors.py``)."""
    if await call(services(request).fedcm.registered, app_id, origin):
        allow_reading(request, origin)


def absolute(request: Request, path: str) -> str:
    return services(request).settings.issuer_origin + path


async def web_identity(request: Request) -> Response:
    """``/.well-known/web-identity`` at the registrable domain (docs/sdk.md says how to serve
    it from there when LeadExec lives on a subdomain). ``accounts_endpoint`` and ``login_url``
    repeat the config's, as browsers require when a client metadata endpoint is used."""
    return JSONResponse(
        {
            "provider_urls": [absolute(request, CONFIG)],
            "accounts_endpoint": absolute(request, ACCOUNTS),
            "login_url": absolute(request, LOGIN_URL),
        },
        headers=PUBLIC,
    )


async def config(request: Request) -> Response:
    check_webidentity(request)
    return JSONResponse(
        {
            "accounts_endpoint": ACCOUNTS,
            "client_metadata_endpoint": CLIENT_METADATA,
            "id_assertion_endpoint": ASSERTION,
            "disconnect_endpoint": DISCONNECT,
            "login_url": LOGIN_URL,
            "branding": {
                "background_color": "#0b5cad",
                "color": "#ffffff",
                "icons": [{"url": absolute(request, "/static/fedcm/icon.png"), "size": 64}],
            },
        },
        headers=PUBLIC,
    )


async def accounts(request: Request) -> Response:
    check_webidentity(request)
    svc = services(request)
    found = await call(svc.fedcm.signed_in, session_cookie(request, svc.settings, third_party=True))
    if found is None:
        # Also corrects the browser's belief, so its next passive call is refused at once.
        response = JSONResponse(
            {"error": {"code": "login_required", "description": "Not signed in to LeadExec."}},
            status_code=401,
        )
        response.headers["Set-Login"] = "logged-out"
        return response
    user = found.user
    return JSONResponse(
        {
            "accounts": [
                {
                    "id": user.id,
                    "name": user.name,
                    "given_name": user.name.split(" ")[0],
                    "email": user.email,
                    "login_hints": [user.email],
                    "approved_clients": list(found.approved_app_ids),
                }
            ]
        }
    )


async def client_metadata(request: Request) -> Response:
    """The privacy policy and terms the dialog links to, from the application's
    registration."""
    check_webidentity(request)
    client_id = request.query_params.get("client_id", "")[:80]
    app = await call(services(request).fedcm.client, client_id)
    if app is None:
        raise NotFound("No such application.")
    body = {
        key: url
        for key, url in (
            ("privacy_policy_url", app.privacy_url),
            ("terms_of_service_url", app.terms_url),
        )
        if url
    }
    return JSONResponse(body, headers=PUBLIC)


def read_params(raw: object) -> dict[str, object]:
    """``params`` as the browser sends it: the JSON the page passed to ``navigator.credentials
    .get`` (the SDK's ``btnId``)."""
    if not isinstance(raw, str) or not raw or len(raw) > 2000:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def continue_url(req: AuthorizeRequest) -> str:
    # The popup's own authorize page, whose result page hands the object to the browser
    # (IdentityProvider.resolve, static/signin/result.js).
    return "/signin/authorize?" + urlencode(
        {"btnId": req.btn_id, "origin": req.origin, "state": "fedcm"}
    )


async def assertion(request: Request) -> Response:
    check_webidentity(request)
    origin = check_caller(request)
    svc = services(request)
    form = await request.form(max_files=0, max_fields=16)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    client_id = values.get("client_id", "")[:80]
    await check_readable(request, client_id, origin)
    params = read_params(values.get("params"))
    btn_id = params.get("btnId")
    req = AuthorizeRequest(
        btn_id=btn_id[:100] if isinstance(btn_id, str) else "",
        origin=origin,
        state="",
        immediate=values.get("is_auto_selected") == "true",
    )
    answer = await call(
        svc.fedcm.assertion,
        req,
        client_id,
        session_cookie(request, svc.settings, third_party=True),
        values.get("account_id", "")[:80],
        disclosed=values.get("disclosure_text_shown") == "true",
        ip=client_ip(request, svc.settings),
    )
    if isinstance(answer, ContinueNeeded):
        body: dict[str, object] = {"continue_on": absolute(request, continue_url(answer.request))}
    else:
        result = result_object(req, authorization=answer)
        body = {"token": json.dumps(result, separators=(",", ":"))}
    return JSONResponse(body, headers=readable_by(request))


async def disconnect(request: Request) -> Response:
    """``IdentityCredential.disconnect({configURL, clientId, accountHint})``: the hint is
    whatever the page passed (the SDK passes the user's id, or their email address)."""
    check_webidentity(request)
    origin = check_caller(request)
    svc = services(request)
    form = await request.form(max_files=0, max_fields=16)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    client_id = values.get("client_id", "")[:80]
    await check_readable(request, client_id, origin)
    hint = values.get("account_hint", "")
    if not hint or len(hint) > 320:
        raise InvalidRequest("The request names no account_hint, or one too long to be an account.")
    account_id = await call(
        svc.fedcm.disconnect,
        client_id,
        origin,
        session_cookie(request, svc.settings, third_party=True),
        hint,
        client_ip(request, svc.settings),
    )
    return JSONResponse({"account_id": account_id}, headers=readable_by(request))


async def signed_in(request: Request) -> Response:
    """The last page of ``login_url``: it closes the browser's sign-in window."""
    if session_cookie(request, services(request).settings) is None:
        raise LoginRequired("/fedcm/signed-in")
    return request.app.state.templates.TemplateResponse(
        request, "fedcm_signed_in.html", {"title": N_("Signed in")}
    )


well_known = [Route("/.well-known/web-identity", web_identity, methods=["GET"])]
# Mounted under /fedcm with the FedCM renderer (web/app.py); signed_in is a page.
routes = [
    Route("/config.json", config, methods=["GET"]),
    Route("/accounts", accounts, methods=["GET"]),
    Route("/client_metadata", client_metadata, methods=["GET"]),
    Route("/assertion", assertion, methods=["POST"]),
    Route("/disconnect", disconnect, methods=["POST"]),
]
pages = [Route("/signed-in", signed_in, methods=["GET"])]
