"""Operator pages for people: the users list (search, filters, keyset paging), a user's page
(profile, grants with last use, browsers, factors, recent events), and the acts of
``core/actions/people.py``, each behind a confirmation page and audited with the operator.
The operators' API tokens are made and revoked here too (``/admin/tokens``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.browsers import device
from leadexec_signin.core.actions.people import ACTIONS
from leadexec_signin.core.admin_tokens import SCOPES
from leadexec_signin.core.errors import InvalidRequest, NotFound, SigninError
from leadexec_signin.core.people import FILTERS, query_of
from leadexec_signin.i18n import N_
from leadexec_signin.web.admin.app_queue import operator
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import page
from leadexec_signin.web.security.csrf import check_csrf

# What each act does, said on its confirmation page, and what the user's page says after it.
CONFIRM = {
    "disable": N_("Disable this account? Every browser is signed out, every application's "
                  "access ends (each is told), and signing in says the account is disabled."),
    "enable": N_("Enable this account? The person can sign in again; applications need "
                 "their consent again."),
    "reset-password": N_("Send a password reset link to this address?"),
    "reset-factors": N_("Remove every passkey, authenticator app and recovery code of this "
                        "account? The person is told by mail and signs in with the password."),
    "sign-out": N_("Sign this account out of every browser? Applications that registered "
                   "back-channel logout are told."),
    "make-operator": N_("Make this person an operator? Operators manage every application "
                        "and every account."),
    "unmake-operator": N_("Stop this person being an operator?"),
    "delete": N_("Delete this account for good? Every application's access ends (each is "
                 "told), and the account's profile and factors are removed."),
}  # fmt: skip
DONE = {
    "disable": N_("Account disabled: signed out everywhere, applications told."),
    "enable": N_("Account enabled."),
    "reset-password": N_("A password reset link was sent."),
    "reset-factors": N_("Second factors removed; the person was told by mail."),
    "sign-out": N_("Signed out of every browser."),
    "make-operator": N_("This person is now an operator."),
    "unmake-operator": N_("This person is no longer an operator."),
    "delete": N_("Account deleted; its applications were told."),
    "token-revoked": N_("Token revoked: it stops working at once."),
}  # fmt: skip
FILTER_WORDS = {
    "disabled": N_("Disabled"),
    "operator": N_("Operators"),
    "factor": N_("Has a second factor"),
    "unverified": N_("Email not verified"),
}


def _user_id(request: Request) -> str:
    user_id = request.path_params["user_id"]
    if not user_id.startswith("usr_") or len(user_id) > 80:
        raise NotFound(N_("No such user."))
    return user_id


async def users_list(request: Request) -> Response:
    me = await operator(request)
    params = request.query_params
    flags = [f for f in FILTERS if params.get(f) == "1"]
    query = query_of(params.get("q", ""), flags=flags, after=params.get("after", ""))
    found = await call(services(request).people.search, query)
    kept = {"q": params.get("q", "")[:200], **{f: "1" for f in flags}}
    kept = {k: v for k, v in kept.items() if v}
    done = DONE.get(params.get("done", ""), "")
    return page(
        request,
        "admin_users.html",
        {
            "user": me,
            "title": N_("Users"),
            "found": found,
            "query": kept.get("q", ""),
            "flags": flags,
            "filters": FILTER_WORDS,
            "paged": bool(query.after),
            "first": urlencode(kept),
            "next": urlencode({**kept, "after": found.next_after}) if found.next_after else "",
            "done": done,
        },
    )


async def user_page(request: Request) -> Response:
    me = await operator(request)
    svc = services(request)
    detail = await call(svc.people.detail, _user_id(request))
    done = DONE.get(request.query_params.get("done", ""), "")
    return page(
        request,
        "admin_user.html",
        {
            "user": me,
            "title": N_("User"),
            "d": detail,
            "done": done,
            "me": me,
            "devices": [device(s.user_agent) for s in detail.sessions],
        },
    )


async def confirm_page(request: Request) -> Response:
    me = await operator(request)
    action = request.query_params.get("action", "")
    if action not in ACTIONS:
        raise InvalidRequest(N_("Choose an action from the user's page."))
    target = await call(services(request).people.find, _user_id(request))
    return page(
        request,
        "admin_user_confirm.html",
        {"user": me, "title": N_("Confirm"), "target": target, "action": action,
         "question": CONFIRM[action]},
    )  # fmt: skip


async def act(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=8)
    check_csrf(request, services(request).settings, form.get("csrf"))
    me = await operator(request)
    action = form.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidRequest(N_("Choose an action from the user's page."))
    if form.get("confirm") != "yes":
        raise InvalidRequest(N_("Confirm the action on its confirmation page."))
    user_id = _user_id(request)
    await call(services(request).people.act, user_id, action, actor=me.id)
    if action == "delete":
        return RedirectResponse("/admin/users?done=delete", status_code=303)
    return RedirectResponse(f"/admin/users/{user_id}?done={action}", status_code=303)


# -- the operators' API tokens --------------------------------------------------------------


async def tokens_page(
    request: Request, *, new: str = "", error: SigninError | None = None
) -> Response:
    me = await operator(request)
    tokens = await call(services(request).admin_api.tokens)
    now = services(request).clock.now()
    done = DONE.get(request.query_params.get("done", ""), "")
    response = page(
        request,
        "admin_tokens.html",
        {"user": me, "title": N_("API tokens"), "tokens": tokens, "scopes": SCOPES,
         "new": new, "error": error.description if error else None, "now": now,
         "done": done},
        status=error.status if error else 200,
    )  # fmt: skip
    if new:
        response.headers["Cache-Control"] = "no-store"  # the token is shown this once
    return response


async def tokens_get(request: Request) -> Response:
    return await tokens_page(request)


async def tokens_create(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=16)
    check_csrf(request, services(request).settings, form.get("csrf"))
    me = await operator(request)
    scopes = ",".join(s for s in form.getlist("scope") if isinstance(s, str))
    try:
        raw, _token = await call(
            services(request).admin_api.create,
            name=form.get("name"),
            scopes=scopes,
            expires=form.get("expires"),
            actor=me.id,
        )
    except InvalidRequest as exc:
        return await tokens_page(request, error=exc)
    return await tokens_page(request, new=raw)


async def tokens_revoke(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=8)
    check_csrf(request, services(request).settings, form.get("csrf"))
    me = await operator(request)
    await call(services(request).admin_api.revoke, request.path_params["token_id"], actor=me.id)
    return RedirectResponse("/admin/tokens?done=token-revoked", status_code=303)


routes = [
    Route("/admin/users", users_list, methods=["GET"]),
    Route("/admin/users/{user_id}", user_page, methods=["GET"]),
    Route("/admin/users/{user_id}/confirm", confirm_page, methods=["GET"]),
    Route("/admin/users/{user_id}/act", act, methods=["POST"]),
    Route("/admin/tokens", tokens_get, methods=["GET"]),
    Route("/admin/tokens", tokens_create, methods=["POST"]),
    Route("/admin/tokens/{token_id}/revoke", tokens_revoke, methods=["POST"]),
]
