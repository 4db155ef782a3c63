"""Security headers, cookies, CSRF and the client address: set in one place for every route.

Headers are defaults that a response may tighten or relax for itself (the silent iframe sets
its own ``frame-ancestors``); the middleware only fills in what is missing.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadexec_signin.core.credentials import same
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.logs import REQUEST_ID
from leadexec_signin.settings import Settings
from leadexec_signin.web.metrics import RequestMetrics
from leadexec_signin.web.surfaces import ANSWER

access_log = logging.getLogger("leadexec_signin.access")

# Request ids only need to be unique in the logs: a random per-process prefix and a counter
# (uuid4 costs a system call on every request).
_REQUEST_PREFIX = os.urandom(4).hex()
_REQUEST_COUNTER = itertools.count(1)


def next_request_id() -> str:
    return f"{_REQUEST_PREFIX}{next(_REQUEST_COUNTER):08x}"


# Pages: scripts and styles only from this origin, no inline code, nothing may frame them;
# scripts may call this origin only (the passkey ceremonies' fetches).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# JSON and JSONP answers: nothing to render, nothing to frame.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

# Query parameters whose values never reach a log line.
SECRET_PARAMS = frozenset(
    {"refreshtoken", "authtoken", "appsecret", "token", "code", "password", "csrf", "state"}
    # The OAuth spellings, which a client may send here by mistake.
    | {"access_token", "refresh_token", "client_secret", "code_verifier", "id_token"}
)
# A value shaped like one of our bearer secrets is redacted whatever it is called and wherever
# it appears (a token pasted into a path, ?access_token=...).
_TOKEN_SHAPED = re.compile(r"\b(?:ler|lea|lec|les|lesk|leo)_[A-Za-z0-9_-]{8,}")
# Escaped so a request cannot start a forged line of its own in the log (CWE-117).
_LOG_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def loggable(text: str) -> str:
    text = _TOKEN_SHAPED.sub("[redacted]", text)
    return _LOG_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def page_csp(frame_ancestors: str = "'none'") -> str:
    return PAGE_CSP.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")


def redacted_query(raw: bytes) -> str:
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    shown = [f"{k[:40]}={'[redacted]' if k.lower() in SECRET_PARAMS else v[:60]}" for k, v in pairs]
    return loggable("?" + "&".join(shown))


ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))


class SecurityMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): default headers, body limit, request id, access log,
    and the request's latency in the metrics (by the route template the router matched)."""

    def __init__(
        self, app: ASGIApp, settings: Settings, metrics: RequestMetrics | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.hsts = settings.secure_cookies
        self.metrics = metrics or RequestMetrics({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = next_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        bound = REQUEST_ID.set(request_id)
        status_holder = {"status": 0}
        scope[ANSWER] = status_holder  # read by the surfaces
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                # Starlette and our routes write header names in lowercase already.
                given = dict(headers)
                present = given.keys()
                csp = given.get(b"content-security-policy")
                is_html = given.get(b"content-type", b"").startswith(b"text/html")
                defaults = [*ALWAYS, (b"x-request-id", request_id.encode())]
                if csp is None:
                    defaults.append(
                        (b"content-security-policy", (PAGE_CSP if is_html else API_CSP).encode())
                    )
                # Framing is refused unless the response opened it on purpose with its own
                # frame-ancestors (only the silent iframe does).
                if csp is None or b"frame-ancestors 'none'" in csp:
                    defaults.append((b"x-frame-options", b"DENY"))
                if path.startswith("/static/"):
                    # Page styles and scripts: cached briefly, revalidated by ETag.
                    defaults.append((b"cache-control", b"public, max-age=300"))
                elif not path.startswith(("/signin/button", "/signin/result.js")):
                    defaults.append((b"cache-control", b"no-store"))
                if self.hsts:
                    defaults.append((b"strict-transport-security", b"max-age=63072000"))
                for key, value in defaults:
                    if key not in present:
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(
                scope, _limit_body(receive, self.settings.max_body_bytes), send_with_headers
            )
        except Exception:
            # Every surface renders its own errors; reaching here is a bug in that machinery.
            access_log.exception("unrendered error id=%s", request_id)
            if status_holder["status"]:
                raise  # the answer already started: nothing sane left to send
            await LAST_RESORT(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            status = status_holder["status"]
            route = scope.get("route")
            self.metrics.observe(route, scope["method"], status, elapsed)
            # Checked first: the redaction below parses the query on every request, which
            # is wasted when the access log is off.
            if access_log.isEnabledFor(logging.INFO):
                shown = loggable(path[:200]) + redacted_query(scope.get("query_string", b""))
                duration_ms = round(elapsed * 1000, 1)
                access_log.info(
                    "%s %s %s %.1fms id=%s",
                    scope["method"],
                    shown,
                    status,
                    duration_ms,
                    request_id,
                    # The same facts as fields, for LEADEXEC_LOG_FORMAT=json (logs.py).
                    extra={
                        "method": scope["method"][:16],
                        "path": shown,
                        "route": self.metrics.route(route),
                        "status": status,
                        "duration_ms": duration_ms,
                    },
                )
            REQUEST_ID.reset(bound)


class BodyTooLarge(InvalidRequest):
    """Raised while a route reads its body; its surface renders it like any refusal."""

    status = 413
    description = "The request body is too large."


LAST_RESORT = PlainTextResponse("The server could not complete the request.", status_code=500)


def _limit_body(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge()
        return message

    return limited


def client_ip(request: Request, settings: Settings) -> str:
    if settings.trust_proxy:
        # The rightmost entry is the one our own proxy appended; anything to its left was
        # written by the client and would let it pick a fresh address for every guess.
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64] or "unknown"
    return request.client.host if request.client else "unknown"


# -- cookies ---------------------------------------------------------------------------------


def cookie_name(settings: Settings, base: str) -> str:
    # __Host- pins the cookie to this exact host over HTTPS: a sibling subdomain cannot
    # plant a session or CSRF cookie (login CSRF by cookie tossing).
    return f"__Host-{base}" if settings.secure_cookies else base


SESSION = "le_session"
# Sent in third-party frames and to the browser's FedCM requests (SameSite=None) and read only
# by the silent check and web/fedcm, which answer only a frame or the browser itself
# (Sec-Fetch-Dest) and only registered origins. Forms never read it: they keep the Lax cookie
# and the double-submit token (docs/security.md). Needs Secure: over HTTPS, or on a loopback
# issuer, where browsers treat plain http as secure.
SESSION_X = "le_session_x"
CSRF = "le_csrf"
_LOOPBACK = re.compile(
    r"^http://(?:localhost|127\.0\.0\.1|\[::1\]|[a-z0-9.-]+\.localhost)(?::\d+)?$"
)


def cross_site_cookie(settings: Settings) -> bool:
    return settings.secure_cookies or _LOOPBACK.fullmatch(settings.issuer_origin) is not None


def set_session_cookie(response: Response, settings: Settings, raw: str) -> None:
    """Also tells the browser that the user is signed in here (the Login Status API's
    ``Set-Login``), so its FedCM dialog asks the accounts endpoint at all."""
    secure = settings.secure_cookies
    max_age = settings.session_absolute_seconds
    response.headers["Set-Login"] = "logged-in"
    response.set_cookie(
        cookie_name(settings, SESSION),
        raw,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    if cross_site_cookie(settings):
        response.set_cookie(
            cookie_name(settings, SESSION_X),
            raw,
            max_age=max_age,
            httponly=True,
            secure=True,
            samesite="none",
            path="/",
        )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Every sign-out: the browser then refuses a passive FedCM call without a request."""
    secure = settings.secure_cookies
    response.headers["Set-Login"] = "logged-out"
    response.delete_cookie(
        cookie_name(settings, SESSION), path="/", secure=secure, httponly=True, samesite="lax"
    )
    if cross_site_cookie(settings):
        response.delete_cookie(
            cookie_name(settings, SESSION_X), path="/", secure=True, httponly=True, samesite="none"
        )


def session_cookie(
    request: Request, settings: Settings, *, third_party: bool = False
) -> str | None:
    raw = request.cookies.get(cookie_name(settings, SESSION))
    if raw is None and third_party and cross_site_cookie(settings):
        raw = request.cookies.get(cookie_name(settings, SESSION_X))
    return raw


# -- CSRF: double-submit cookie plus an Origin check (OWASP CSRF cheat sheet) ----------------


def csrf_token(request: Request, settings: Settings) -> str:
    """The token to put in forms; remembered on the request so the response can set it."""
    existing = request.cookies.get(cookie_name(settings, CSRF), "")
    if 20 <= len(existing) <= 100 and existing.isascii():
        return existing
    token = getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def attach_csrf_cookie(request: Request, response: Response, settings: Settings) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            cookie_name(settings, CSRF),
            token,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
            path="/",
        )


def check_csrf(request: Request, settings: Settings, submitted: object) -> None:
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin not in (own, settings.issuer_origin):
        raise InvalidRequest("This form was sent from another site.", status=403)
    cookie = request.cookies.get(cookie_name(settings, CSRF), "")
    if (
        not isinstance(submitted, str)
        or not cookie
        or len(submitted) > 100
        or not same(submitted, cookie)
    ):
        raise InvalidRequest(
            "This form has expired or was not sent from this site. Reload the page and try again.",
            status=403,
        )
