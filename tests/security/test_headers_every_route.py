"""Security headers and cookie flags on every route (OWASP ASVS V14.4, V3.4; RFC 9700 section
4.16): the test walks the application's route table, so a route added tomorrow is checked
without anyone remembering to add it here. Headers are set in one place,
``web/security/middleware.py``'s ``SecurityMiddleware``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest
from starlette.routing import Mount, Route

from leadexec_signin.web.surfaces import Surface
from support.signin import PARTNER, PASSWORD, authorize, csrf_of, sign_in

HTTPS_ISSUER = "https://idp.example.com"
# Answers that are the same for everybody may be cached; everything else is no-store.
PUBLIC_CACHE = ("/signin/button.js", "/signin/button.css", "/signin/result.js", "/static/")
PUBLIC_CACHE_PATTERNS = (
    "/signin/buttons/{btn_id}",
    "/openapi.json",
    "/signin/keys",
    # OpenID Connect discovery and the JWKS: public metadata, cached by client libraries.
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/oauth2/jwks",
    # RFC 9728 protected resource metadata: public, as discovery is.
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/api/v1",
    "/.well-known/oauth-protected-resource/mcp",
    # FedCM's public files: the same for everyone, fetched by browsers (not private data).
    "/.well-known/web-identity",
    "/fedcm/config.json",
    "/fedcm/client_metadata",
)
# Only the silent iframe may name an ancestor other than 'none'.
FRAMEABLE = "/signin/immediate"
_PARAM = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")


@dataclass(frozen=True)
class Visit:
    method: str
    pattern: str
    path: str


def walk(app, ids: dict[str, str], routes=None, prefix: str = "") -> Iterator[Visit]:
    """Every route, surfaces included (a surface is a mount of routes with its renderer)."""
    for route in app.routes if routes is None else routes:
        if isinstance(route, Mount) and isinstance(route.app, Surface):
            yield from walk(app, ids, route.app.routes, prefix + route.path)
            continue
        if isinstance(route, Mount):
            where = prefix + route.path
            yield Visit("GET", where + "/{path}", where + "/app.css")
            yield Visit("GET", where + "/{path}", where + "/missing.css")
            continue
        assert isinstance(route, Route), f"unknown kind of route {route!r}"
        pattern = prefix + route.path
        path = _PARAM.sub(lambda m: ids.get(m.group(1), "x"), pattern)
        for method in sorted(route.methods or {"GET"}):
            yield Visit(method, pattern, path)


def check_headers(visit: Visit, r, *, https: bool) -> None:
    where = f"{visit.method} {visit.path} -> {r.status_code}"
    h = r.headers
    assert r.status_code < 500, where
    assert h["x-content-type-options"] == "nosniff", where
    assert h["referrer-policy"] in ("no-referrer", "same-origin"), where
    assert h.get("x-request-id"), where
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp and "base-uri 'none'" in csp, where
    ancestors = re.search(r"frame-ancestors ([^;]+)", csp)
    assert ancestors, where
    if visit.pattern == FRAMEABLE and ancestors.group(1) != "'none'":
        assert re.fullmatch(r"https?://[a-z0-9.-]+(:\d+)?", ancestors.group(1)), where
        assert "x-frame-options" not in h, where
    else:
        assert ancestors.group(1) == "'none'", where
        assert h["x-frame-options"] == "DENY", where
    cache = h.get("cache-control", "")
    public = visit.path.startswith(PUBLIC_CACHE) or visit.pattern in PUBLIC_CACHE_PATTERNS
    if not public:
        assert cache == "no-store", where
    else:  # the same bytes for everyone: cacheable, never private data
        assert "private" not in cache, where
    if https:
        assert h["strict-transport-security"].startswith("max-age="), where
        assert int(h["strict-transport-security"].split("=")[1].split(";")[0]) >= 31536000
    else:
        assert "strict-transport-security" not in h, where
    for cookie in r.headers.get_list("set-cookie"):
        check_cookie(where, cookie, https=https)


def check_cookie(where: str, cookie: str, *, https: bool) -> None:
    name = cookie.split("=", 1)[0]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    values = {
        part.strip().split("=")[0].lower(): part.strip().partition("=")[2].lower()
        for part in cookie.split(";")[1:]
    }
    assert "httponly" in flags, f"{where}: {name} readable by scripts"
    assert values.get("samesite") in ("lax", "strict", "none"), f"{where}: {name} SameSite"
    assert values.get("path") == "/", f"{where}: {name} path"
    assert "domain" not in flags, f"{where}: {name} shared with subdomains"
    if https:
        assert "secure" in flags, f"{where}: {name} not Secure"
        assert name.startswith("__Host-"), f"{where}: {name} without the __Host- prefix"
    if values.get("samesite") == "none":
        assert "secure" in flags, f"{where}: {name} SameSite=None without Secure"


@pytest.fixture(params=["http", "https"], ids=["over http", "over https"])
def scheme(request) -> str:
    return request.param


@pytest.fixture
def walker(scheme: str, make_client, world):
    """A client of the right scheme, with an operator signed in and real ids to fill paths."""
    if scheme == "https":
        c, services = make_client(issuer=HTTPS_ISSUER, base_url=HTTPS_ISSUER)
    else:
        c, services = make_client()
    services.accounts.create_user(
        email="op@example.com", name="Op", password=PASSWORD, operator=True
    )
    app, _ = services.registry.register(name="Op App", origins=[PARTNER], scopes="profile")
    return c, services, app.id


def cookie_name(scheme: str, base: str) -> str:
    return f"__Host-{base}" if scheme == "https" else base


@pytest.mark.slow  # every route of the application, twice
def test_every_route_sends_the_security_headers(walker, world, scheme: str) -> None:
    c, _, op_app = walker
    https = scheme == "https"
    ids = {"btn_id": world.btn_id, "app_id": op_app, "grant_id": "grt_" + "x" * 22, "name": "x"}
    visits = list(walk(c.app, ids))
    assert len({v.pattern for v in visits}) >= 25  # the walk really saw the route table
    for signed_in in (False, True):
        c.cookies.clear()
        if signed_in:
            sign_in(c, "op@example.com")
        for visit in visits:
            r = c.request(visit.method, visit.path, follow_redirects=False)
            check_headers(visit, r, https=https)


def test_the_silent_iframe_and_token_pages_over_https(walker, world, scheme: str) -> None:
    """The pages that only exist with a grant, checked the same way."""
    c, _, _ = walker
    sign_in(c, "op@example.com")
    result = authorize(c, world.btn_id)
    assert result["valid"] is True
    r = c.get("/signin/immediate", params={"btnId": world.btn_id, "origin": PARTNER, "state": "s"})
    assert r.status_code == 200 and "lea_" in r.text
    check_headers(Visit("GET", FRAMEABLE, "/signin/immediate"), r, https=scheme == "https")
    assert (
        re.search(r"frame-ancestors ([^;]+)", r.headers["content-security-policy"]).group(1)
        == PARTNER
    )


def test_sign_in_cookies_are_host_only_httponly_and_secure_over_https(walker, scheme) -> None:
    c, _, _ = walker
    page = c.get("/account/login")
    for cookie in page.headers.get_list("set-cookie"):
        check_cookie("GET /account/login", cookie, https=scheme == "https")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = c.post(
        "/account/login",
        data={"csrf": csrf.group(1), "email": "op@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookies = r.headers.get_list("set-cookie")
    names = [cookie.split("=", 1)[0] for cookie in cookies]
    assert cookie_name(scheme, "le_session") in names
    for cookie in cookies:
        check_cookie("POST /account/login", cookie, https=scheme == "https")
        if cookie.startswith(cookie_name(scheme, "le_session") + "="):
            assert "samesite=lax" in cookie.lower()


def test_metrics_answers_carry_the_headers_whether_shown_or_refused(make_client, scheme) -> None:
    """``/metrics`` is in the walk above as an address that names nothing (no token set);
    with a token set, its text page and its refusal are checked the same way."""
    https = scheme == "https"
    base = HTTPS_ISSUER if https else "http://127.0.0.1:8000"
    token = "header-test-metrics-token"
    c, _ = make_client(issuer=base, base_url=base, metrics_token=token)
    visit = Visit("GET", "/metrics", "/metrics")
    shown = c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert shown.status_code == 200 and "leadexec_http_request_duration_seconds" in shown.text
    check_headers(visit, shown, https=https)
    refused = c.get("/metrics")
    assert refused.status_code == 401
    check_headers(visit, refused, https=https)


def test_the_account_pages_behind_a_mailed_link_and_the_outbox(make_client, scheme) -> None:
    """Pages the walk sees only refused (it has no link) or switched off (the development
    outbox): opened here with real links, each answer checked the same way."""
    https = scheme == "https"
    base = HTTPS_ISSUER if https else "http://127.0.0.1:8000"
    c, services = make_client(issuer=base, base_url=base, dev_outbox=True)
    ann = services.accounts.create_user(email="ann2@example.com", name="Ann", password=PASSWORD)
    services.recovery.sign_up(email="new@example.com", name="New", password=PASSWORD, ip="1")
    services.recovery.request_reset(email="ann2@example.com", ip="1")
    services.email_change.request_email_change(
        ann, new_email="moved@example.com", password=PASSWORD, ip="1"
    )
    links = [
        re.search(r"/account/[a-z/]+\?token=\S+", sent.message.text)
        for sent in services.outbox.messages()
    ]
    paths = [found.group(0) for found in links if found]
    assert {p.split("?")[0] for p in paths} == {
        "/account/verify",
        "/account/reset",
        "/account/email/confirm",
    }
    for path in [*paths, "/dev/outbox"]:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 200, path
        check_headers(Visit("GET", path.split("?")[0], path), r, https=https)
    page = c.get("/account/signup")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    sent = c.post(
        "/account/signup",
        data={"csrf": csrf, "name": "N", "email": "n2@example.com", "password": PASSWORD},
    )
    assert sent.status_code == 200
    check_headers(Visit("POST", "/account/signup", "/account/signup"), sent, https=https)


def test_the_two_step_cookie_is_host_only_like_the_session(walker, scheme) -> None:
    """The pending sign-in between the password and the second factor (``le_2fa``) is
    ``__Host-`` prefixed over HTTPS, HttpOnly, Path=/, and it is the cookie the second step
    reads: the code then signs the browser in."""
    c, services, _ = walker
    user = services.accounts.create_user(email="two@example.com", name="T", password=PASSWORD)
    secret = services.codes.start(user)
    totp = pyotp.TOTP(secret.secret)
    services.codes.confirm(user, totp.at(services.clock.now()))
    page = c.get("/account/login")
    r = c.post(
        "/account/login",
        data={"csrf": csrf_of(page.text), "email": "two@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/account/second-step")
    cookies = r.headers.get_list("set-cookie")
    assert [cookie.split("=", 1)[0] for cookie in cookies] == [cookie_name(scheme, "le_2fa")]
    check_cookie("POST /account/login", cookies[0], https=scheme == "https")
    step = c.get("/account/second-step")
    assert step.status_code == 200
    services.clock.advance(seconds=30)  # the enrolment's code is spent
    done = c.post(
        "/account/second-step",
        data={"csrf": csrf_of(step.text), "code": totp.at(services.clock.now())},
        follow_redirects=False,
    )
    assert done.status_code == 303
    names = [cookie.split("=", 1)[0] for cookie in done.headers.get_list("set-cookie")]
    assert cookie_name(scheme, "le_session") in names and cookie_name(scheme, "le_2fa") in names
    for cookie in done.headers.get_list("set-cookie"):
        check_cookie("POST /account/second-step", cookie, https=scheme == "https")
