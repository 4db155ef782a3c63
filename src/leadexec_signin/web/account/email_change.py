"""The change of email address, over ``core/actions/recovery.py``: the form (the current
password required), the link sent to the new address, and its page, whose POST spends it.
The forms' shared reading and refusing are ``recovery.py``'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.account_tokens import EMAIL
from leadexec_signin.core.errors import InvalidCredentials, InvalidRequest, RateLimited
from leadexec_signin.i18n import N_
from leadexec_signin.web.account.recovery import (
    checked_form,
    echoed,
    field,
    refused,
    sent,
    signin_after,
)
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import current_user, page, require_user
from leadexec_signin.web.security.client_ip import client_ip

# -- change of email ------------------------------------------------------------------------


async def email_get(request: Request) -> Response:
    user = await require_user(request)
    done = request.query_params.get("done") == "changed"
    return page(
        request,
        "email.html",
        {"title": N_("Your email address"), "user": user, "form": {}, "changed": done},
    )


async def email_post(request: Request) -> Response:
    svc = services(request)
    form = await checked_form(request)
    user = await require_user(request)
    context: dict[str, object] = {
        "title": N_("Your email address"),
        "user": user,
        "form": echoed(form, "new_email"),
    }
    try:
        new_email, password = field(form, "new_email"), field(form, "password")
        if not new_email or not password:
            raise InvalidRequest("Enter the new address and your current password.")
        await call(
            svc.email_change.request_email_change,
            user,
            new_email=new_email,
            password=password,
            ip=client_ip(request, svc.settings),
        )
    except (InvalidRequest, InvalidCredentials, RateLimited) as exc:
        return refused(request, "email.html", context, exc)
    hours = svc.settings.verify_link_ttl_seconds // 3600
    return sent(
        request,
        N_("Confirm from your new address"),
        [
            (
                N_(
                    "We sent a link to %(new)s. Your account keeps using %(old)s until the link "
                    "is followed; it works once, for %(hours)s hours."
                ),
                {"new": new_email.strip().lower(), "old": user.email, "hours": hours},
            ),
        ],
    )


async def email_confirm_get(request: Request) -> Response:
    token = request.query_params.get("token", "")
    view = await call(services(request).email_change.look_at, token, EMAIL)
    return page(
        request,
        "email_confirm.html",
        {
            "title": N_("Confirm your new email address"),
            "token": token,
            "email": view.email,
            "new_email": view.new_email,
        },
    )


async def email_confirm_post(request: Request) -> Response:
    svc = services(request)
    form = await checked_form(request)
    # An address taken meanwhile by another account is a 409 page; nothing changes.
    new_email = await call(
        svc.email_change.confirm_email_change,
        field(form, "token"),
        client_ip(request, svc.settings),
    )
    if await current_user(request) is not None:
        return RedirectResponse("/account/email?done=changed", status_code=303)
    return RedirectResponse(signin_after("email", new_email), status_code=303)


routes = [
    Route("/account/email", email_get, methods=["GET"]),
    Route("/account/email", email_post, methods=["POST"]),
    Route("/account/email/confirm", email_confirm_get, methods=["GET"]),
    Route("/account/email/confirm", email_confirm_post, methods=["POST"]),
]
