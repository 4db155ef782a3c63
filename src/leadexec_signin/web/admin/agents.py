"""The operators' page of clients that registered themselves (``/admin/agents``): each with its
kind, domain, status and last use, and the blocked domains, with a form to block one (its
clients stop at once, new ones from it are refused) and to unblock it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.core.self_registered import DYNAMIC, METADATA_DOCUMENT
from leadexec_signin.i18n import N_
from leadexec_signin.web.admin.app_queue import STATUS_WORDS, operator
from leadexec_signin.web.context import call, services
from leadexec_signin.web.pages import page
from leadexec_signin.web.security.csrf import check_csrf

KIND_WORDS = {DYNAMIC: N_("dynamic registration"), METADATA_DOCUMENT: N_("metadata document")}
DONE = {
    "blocked": N_("Domain blocked: its clients stopped working, and it cannot register again."),
    "unblocked": N_("Domain unblocked: its clients work again."),
}


async def agents_page(request: Request, error: str | None = None, domain: str = "") -> Response:
    user = await operator(request)
    svc = services(request)
    clients, blocked = await call(svc.self_registration.clients)
    return page(
        request,
        "admin_agents.html",
        {
            "user": user,
            "clients": clients,
            "blocked": blocked,
            "kinds": KIND_WORDS,
            "statuses": STATUS_WORDS,
            "setting": svc.settings.client_registration,
            "idle_days": svc.settings.self_registered_idle_days,
            "done": DONE.get(request.query_params.get("done", ""), ""),
            "error": error,
            "domain": domain,
            "title": N_("Self-registered clients"),
        },
        status=400 if error else 200,
    )


async def agents(request: Request) -> Response:
    return await agents_page(request)


async def block(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=4)
    check_csrf(request, services(request).settings, form.get("csrf"))
    user = await operator(request)
    raw = form.get("domain")
    raw = raw[:300] if isinstance(raw, str) else ""
    unblock = request.url.path.endswith("/unblock")
    registration = services(request).self_registration
    try:
        act = registration.unblock_domain if unblock else registration.block_domain
        await call(act, raw, actor=user.id)
    except (InvalidRequest, NotFound) as exc:
        return await agents_page(request, exc.description, raw)
    return RedirectResponse(
        f"/admin/agents?done={'unblocked' if unblock else 'blocked'}", status_code=303
    )


routes = [
    Route("/admin/agents", agents, methods=["GET"]),
    Route("/admin/agents/block", block, methods=["POST"]),
    Route("/admin/agents/unblock", block, methods=["POST"]),
]
