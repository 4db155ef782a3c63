"""A partner application as the seed tells partners to build one (steps 2 to 4).

The page carries the seed's loader snippet byte for byte (with the provider's host filled in),
the seed's button markup and an ``AuthorizeResult`` callback. Its backend shows what a partner
does with the refresh token: trade it with the appId at ``/api/token``, call ``/api/v1/me``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadexec_signin.web.signin.snippet import snippet

HERE = Path(__file__).resolve().parent

_INLINE_SCRIPT = re.compile(
    r"<script(?:\s+type=\"text/javascript\")?(?:\s+nonce=\"[^\"]*\")?>(.*?)</script>", re.S
)
_MAX_BODY = 4096


def csp_for(provider_origin: str, html: str) -> str:
    """A partner page's policy: its own inline scripts by hash, the provider for the SDK's
    script, stylesheet, silent-check frame, button settings and JSONP disconnect."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    p = provider_origin
    return (
        f"default-src 'self'; script-src 'self' {hashes} {p}; "
        # data: carries the snippet's @import stylesheet; the seed's callback example hides the
        # button with setAttribute('style', ...), which needs style attributes.
        f"style-src 'self' data: {p}; style-src-attr 'unsafe-inline'; img-src 'self' data: {p}; "
        f"frame-src {p}; connect-src 'self' {p}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def page_headers(provider_origin: str, html: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp_for(provider_origin, html),
        # Never "same-origin": the sign-in popup must be able to reach window.opener.
        "Cross-Origin-Opener-Policy": "same-origin-allow-popups",
        "Cache-Control": "no-store",
    }


@dataclass(frozen=True)
class PartnerConfig:
    provider_url: str
    app_id: str
    btn_id: str
    name: str = "Acme CRM"

    @property
    def provider_origin(self) -> str:
        parts = urlsplit(self.provider_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def provider_host(self) -> str:
        return urlsplit(self.provider_url).netloc


class _Nosniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(
                    [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
                )
            await send(message)

        await self.app(scope, receive, send_with)


def _config(request: Request) -> PartnerConfig:
    return request.app.state.partner


async def home(request: Request) -> Response:
    cfg = _config(request)
    own = f"{request.url.scheme}://{request.url.netloc}"
    html = request.app.state.templates.get_template("index.html").render(
        name=cfg.name,
        btn_id=cfg.btn_id,
        origin=own,
        provider=cfg.provider_origin,
        snippet=Markup(snippet(cfg.provider_host)),  # noqa: S704 (our own constant)
    )
    return Response(html, media_type="text/html", headers=page_headers(cfg.provider_origin, html))


def _refusal(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "errorMessage": message},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


async def profile(request: Request) -> Response:
    """The partner's backend: refresh token in, the user's profile out.

    JSON only: a cross-site form cannot send ``application/json`` without a CORS preflight,
    which this site never grants, so another site cannot drive this endpoint.
    """
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _refusal(415, "invalid_request", "Send the refresh token as JSON.")
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        return _refusal(413, "invalid_request", "The request body is too large.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _refusal(400, "invalid_request", "The body is not JSON.")
    token = body.get("refreshToken") if isinstance(body, dict) else None
    if not isinstance(token, str) or not 1 <= len(token) <= 512:
        return _refusal(400, "invalid_request", "refreshToken is required.")
    cfg = _config(request)
    try:
        async with httpx.AsyncClient(base_url=cfg.provider_url, timeout=10) as http:
            issued = await http.post(
                "/api/token", data={"appId": cfg.app_id, "refreshToken": token}
            )
            answer = issued.json()
            if issued.status_code != 200 or answer.get("valid") is not True:
                return _refusal(
                    401,
                    str(answer.get("error") or "invalid_grant"),
                    str(answer.get("errorMessage") or "LeadExec refused the refresh token."),
                )
            me = await http.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {answer['authToken']}"}
            )
            if me.status_code != 200:
                return _refusal(502, "api_error", f"LeadExec's API answered {me.status_code}.")
            user = me.json()
    except (httpx.HTTPError, ValueError, KeyError):
        return _refusal(502, "provider_unreachable", "LeadExec could not be reached.")
    return JSONResponse(
        {"user": user, "authTokenExpires": answer.get("expireDate")},
        headers={"Cache-Control": "no-store"},
    )


def create_partner_app(
    config: PartnerConfig, *, extra_routes: list[Route] | None = None
) -> ASGIApp:
    """The partner site; ``extra_routes`` lets tests add pages on the same origin."""
    routes = [
        *(extra_routes or []),
        Route("/", home, methods=["GET"]),
        Route("/api/profile", profile, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.partner = config
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    return _Nosniff(app)
