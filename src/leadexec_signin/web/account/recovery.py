"""Self-service account pages: sign up, confirm the address, forgot password, reset it, change
the email (over ``core/actions/recovery.py``).

Each form is parse -> one call -> render. A mistake in what was typed (a malformed address, a
short password) shows the form again with the reason and status 400; a link that does not work
is an error page (400 ``invalid_link``). A link's page never spends it on GET: mail scanners
open links, so the spending is the POST of the button on that page, with its CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.account_tokens import RESET, VERIFY
from leadexec_signin.core.errors import (
    InvalidRequest,
    RateLimited,
    SigninError,
)
from leadexec_signin.i18n import N_
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import current_user, page
from leadexec_signin.web.security.client_ip import client_ip
from leadexec_signin.web.security.cookies import clear_session_cookie
from leadexec_signin.web.security.csrf import check_csrf

MAX_FIELDS = 16
LIMITS = {"email": 320, "new_email": 320, "name": 120, "password": 1024, "token": 256}


def field(form: FormData, name: str) -> str:
    """A text field, "" when missing; a file or an over-long value is refused with its name."""
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"The field {name} must be text.")
    if len(value) > LIMITS[name]:
        raise InvalidRequest(f"The field {name} is too long.")
    return value


def echoed(form: FormData, *names: str) -> dict[str, str]:
    """What the form shows again after a refusal: text only, cut to the field's length."""
    values = {name: form.get(name) for name in names}
    return {k: v[: LIMITS[k]] if isinstance(v, str) else "" for k, v in values.items()}


async def checked_form(request: Request) -> FormData:
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    check_csrf(request, services(request).settings, form.get("csrf"))
    return form


def refused(
    request: Request, template: str, context: Mapping[str, object], exc: SigninError
) -> Response:
    """The form again, with the reason; a rate limit also says when to come back."""
    response = page(request, template, {**context, "error": exc.description}, status=exc.status)
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def sent(request: Request, title: str, lines: list[tuple[str, dict[str, object]]]) -> Response:
    """The "check your email" page: each line a catalog sentence and its values, so the page
    speaks the reader's language (mail_sent.html translates them). Where the development
    outbox is on (the demo), it links there: that is where the mail went."""
    outbox = services(request).outbox is not None
    return page(request, "mail_sent.html", {"title": title, "lines": lines, "outbox": outbox})


# -- sign up --------------------------------------------------------------------------------


async def signup_get(request: Request) -> Response:
    user = await current_user(request)
    context: dict[str, object] = {"title": N_("Create your account"), "user": user, "form": {}}
    return page(request, "signup.html", context)


async def signup_post(request: Request) -> Response:
    svc = services(request)
    form = await checked_form(request)
    context: dict[str, object] = {
        "title": N_("Create your account"),
        "form": echoed(form, "name", "email"),
    }
    try:
        email, name, password = field(form, "email"), field(form, "name"), field(form, "password")
        if not email or not name or not password:
            raise InvalidRequest("Enter your name, email address and a password.")
        await call(
            svc.recovery.sign_up,
            email=email,
            name=name,
            password=password,
            ip=client_ip(request, svc.settings),
        )
    except (InvalidRequest, RateLimited) as exc:
        return refused(request, "signup.html", context, exc)
    # The same page whether the address was new, waiting for its link, or already an
    # account (that one gets a mail saying so): the page never tells which.
    hours = svc.settings.verify_link_ttl_seconds // 3600
    return sent(
        request,
        N_("Check your email"),
        [
            (
                N_(
                    "We sent a message to %(email)s. Follow the link in it to finish creating "
                    "your account; it works once, for %(hours)s hours."
                ),
                {"email": email.strip().lower(), "hours": hours},
            ),
            (
                N_(
                    "Nothing arrived after a few minutes? Look in your spam folder, or sign up "
                    "again with the same address for a new link."
                ),
                {},
            ),
        ],
    )


async def verify_get(request: Request) -> Response:
    token = request.query_params.get("token", "")
    view = await call(services(request).recovery.look_at, token, VERIFY)
    return page(
        request,
        "verify.html",
        {"title": N_("Confirm your email address"), "token": token, "email": view.email},
    )


async def verify_post(request: Request) -> Response:
    svc = services(request)
    form = await checked_form(request)
    email = await call(
        svc.recovery.verify_email, field(form, "token"), client_ip(request, svc.settings)
    )
    # Sign-up is how partners arrive: once signed in, the console.
    return RedirectResponse(signin_after("verified", email, "/developers"), status_code=303)


def signin_after(done: str, email: str, next_url: str = "") -> str:
    query = {"done": done, "login_hint": email} | ({"next": next_url} if next_url else {})
    return "/account/login?" + urlencode(query)


# -- forgot password ------------------------------------------------------------------------


async def forgot_get(request: Request) -> Response:
    hint = request.query_params.get("email", "")[:320]
    shown = {"email": hint if hint.isprintable() else ""}
    return page(request, "forgot.html", {"title": N_("Reset your password"), "form": shown})


async def forgot_post(request: Request) -> Response:
    svc = services(request)
    form = await checked_form(request)
    context: dict[str, object] = {
        "title": N_("Reset your password"),
        "form": echoed(form, "email"),
    }
    try:
        email = field(form, "email")
        if not email:
            raise InvalidRequest("Enter the email address of your account.")
        await call(svc.recovery.request_reset, email=email, ip=client_ip(request, svc.settings))
    except (InvalidRequest, RateLimited) as exc:
        return refused(request, "forgot.html", context, exc)
    minutes = svc.settings.reset_link_ttl_seconds // 60
    return sent(
        request,
        N_("Check your email"),
        [
            (
                N_(
                    "If a LeadExec account uses %(email)s, we sent it a link to choose a new "
                    "password. The link works once, for %(minutes)s minutes."
                ),
                {"email": email.strip().lower(), "minutes": minutes},
            ),
            (
                N_("Nothing arrived after a few minutes? Look in your spam folder, or ask again."),
                {},
            ),
        ],
    )


async def reset_get(request: Request) -> Response:
    token = request.query_params.get("token", "")
    view = await call(services(request).recovery.look_at, token, RESET)
    return page(
        request,
        "reset.html",
        {"title": N_("Choose a new password"), "token": token, "email": view.email},
    )


async def reset_post(request: Request) -> Response:
    svc = services(request)
    form = await checked_form(request)
    token = field(form, "token")
    try:
        email = await call(
            svc.recovery.reset_password,
            token,
            field(form, "password"),
            client_ip(request, svc.settings),
        )
    except InvalidRequest as exc:
        if exc.code != "invalid_request":
            raise
        view = await call(svc.recovery.look_at, token, RESET)
        context = {"title": N_("Choose a new password"), "token": token, "email": view.email}
        return refused(request, "reset.html", context, exc)
    # Every session of the account ended with the reset, this browser's too.
    response = RedirectResponse(signin_after("reset", email), status_code=303)
    clear_session_cookie(response, svc.settings)
    return response


async def verify_resend_post(request: Request) -> Response:
    """ "Send the link again", from the sign-in form of an account not confirmed yet."""
    svc = services(request)
    form = await checked_form(request)
    email = field(form, "email")
    try:
        if not email:
            raise InvalidRequest("Enter your email address.")
        ip = client_ip(request, svc.settings)
        await call(svc.recovery.resend_verification, email=email, ip=ip)
    except (InvalidRequest, RateLimited) as exc:
        return refused(request, "login.html", {"title": "Sign in", "next": "/account/apps",
                                               "email": email[:320]}, exc)  # fmt: skip
    hours = svc.settings.verify_link_ttl_seconds // 3600
    return sent(
        request,
        N_("Check your email"),
        [
            (
                N_(
                    "If %(email)s is waiting for confirmation, we sent it a new link. Follow it "
                    "to finish creating your account; it works once, for %(hours)s hours."
                ),
                {"email": email.strip().lower()[:320], "hours": hours},
            )
        ],
    )


routes = [
    Route("/account/signup", signup_get, methods=["GET"]),
    Route("/account/signup", signup_post, methods=["POST"]),
    Route("/account/verify", verify_get, methods=["GET"]),
    Route("/account/verify", verify_post, methods=["POST"]),
    Route("/account/verify/resend", verify_resend_post, methods=["POST"]),
    Route("/account/forgot", forgot_get, methods=["GET"]),
    Route("/account/forgot", forgot_post, methods=["POST"]),
    Route("/account/reset", reset_get, methods=["GET"]),
    Route("/account/reset", reset_post, methods=["POST"]),
]
