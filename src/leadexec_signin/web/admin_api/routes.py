"""The admin REST API, ``/admin/api/v1``: users (list and search, read, create, update,
disable, enable, delete), applications (list, read, approve, suspend, reinstate), grants (list,
revoke) and the audit trail (query). Each call needs an operator API token with its scope
(``users:read`` ... ``audit:read``; a ``:write`` scope includes its ``:read``), is counted
against the token's limit and audited with the token as actor. Refusals are
``{error, error_description}`` with a ``WWW-Authenticate`` challenge on 401 and 403.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.actions.audit_trail import event_json, parse_query
from leadexec_signin.core.actions.operator import ACTIONS as APP_ACTIONS
from leadexec_signin.core.admin_tokens import (
    APPS_READ,
    APPS_WRITE,
    AUDIT_READ,
    USERS_READ,
    USERS_WRITE,
    AdminToken,
)
from leadexec_signin.core.apps import Application
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.core.people import Change, Profile, query_of, user_record
from leadexec_signin.web.admin_api.calls import flag, json_body, scoped, text
from leadexec_signin.web.context import call, services

BASE = "/admin/api/v1"
CREATE_FIELDS = frozenset({"email", "name", "company", "plan", "timezone", "locale",
                           "operator", "sendPasswordReset"})  # fmt: skip
UPDATE_FIELDS = frozenset({"name", "company", "timezone", "locale", "plan", "operator",
                           "disabled"})  # fmt: skip


def _no_store(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def app_record(app: Application, owner_email: str | None = None) -> dict[str, object]:
    return {
        "appId": app.id,
        "name": app.name,
        "status": app.status,
        "ownerEmail": owner_email,
        "origins": list(app.origins),
        "redirectUris": list(app.redirect_uris),
        "scopes": sorted(app.scopes),
        "clientType": app.client_type,
        "createdAt": iso_z(app.created_at) if app.created_at else None,
    }


# -- users ----------------------------------------------------------------------------------


@scoped(USERS_READ)
async def users_list(request: Request, token: AdminToken) -> Response:
    p = request.query_params
    query = query_of(p.get("q", ""), flags=p.getlist("filter"), after=p.get("after", ""),
                     limit=p.get("limit", "50"))  # fmt: skip
    found = await call(services(request).people.search, query)
    users = [user_record(u, has_factor=u.id in found.factors) for u in found.users]
    return _no_store({"users": users, "next": found.next_after or None})


@scoped(USERS_READ)
async def user_get(request: Request, token: AdminToken) -> Response:
    detail = await call(services(request).people.detail, request.path_params["user_id"], events=0)
    return _no_store(user_record(detail.user, has_factor=detail.factor_count > 0))


@scoped(USERS_WRITE)
async def user_create(request: Request, token: AdminToken) -> Response:
    svc = services(request)
    body = await json_body(request, CREATE_FIELDS)
    email, name = text(body, "email"), text(body, "name")
    if not email or not name:
        raise InvalidRequest("email and name are required.")
    profile = Profile(name, text(body, "company", "") or "", text(body, "timezone", "UTC") or "",
                      text(body, "locale", "en-US") or "")  # fmt: skip
    plan = text(body, "plan", "") or ""
    operator, reset = flag(body, "operator"), flag(body, "sendPasswordReset")
    # No password crosses the API: the person sets one from the reset link.
    user = await call(
        lambda: svc.provisioning.create(
            email=email, profile=profile, plan=plan, operator=bool(operator), actor=token.id
        )
    )
    if reset:
        await call(svc.people.act, user.id, "reset-password", actor=token.id)
    return JSONResponse(user_record(user, has_factor=False), status_code=201,
                        headers={"Location": f"{BASE}/users/{user.id}"})  # fmt: skip


@scoped(USERS_WRITE)
async def user_update(request: Request, token: AdminToken) -> Response:
    svc = services(request)
    body = await json_body(request, UPDATE_FIELDS)
    current = await call(svc.people.find, request.path_params["user_id"])
    profile = None
    if {"name", "company", "timezone", "locale"} & set(body):
        profile = Profile(
            text(body, "name", current.name) or "",
            text(body, "company", current.company) or "",
            text(body, "timezone", current.timezone) or "",
            text(body, "locale", current.locale) or "",
        )
    change = Change(profile, text(body, "plan"), flag(body, "operator"), flag(body, "disabled"))
    user = await call(lambda: svc.people.update(current.id, change, actor=token.id))
    return _no_store(user_record(user))


def _acting(action: str) -> object:
    @scoped(USERS_WRITE)
    async def run(request: Request, token: AdminToken) -> Response:
        people = services(request).people
        user = await call(lambda: people.act(request.path_params["user_id"], action,
                                             actor=token.id))  # fmt: skip
        if action == "delete":
            return Response(status_code=204)
        return _no_store(user_record(user))

    return run


# -- grants ---------------------------------------------------------------------------------


@scoped(USERS_READ)
async def grants_list(request: Request, token: AdminToken) -> Response:
    user_id = request.query_params.get("userId", "")
    if not user_id:
        raise InvalidRequest("Name the user: ?userId=usr_...")
    detail = await call(services(request).people.detail, user_id, events=0)
    grants = [
        {"grantId": g.grant.id, "appId": g.grant.app_id, "appName": g.app_name,
         "scopes": sorted(g.grant.scopes), "createdAt": iso_z(g.grant.created_at),
         "lastUsedAt": iso_z(g.grant.last_used_at)}
        for g in detail.grants
    ]  # fmt: skip
    return _no_store({"grants": grants})


@scoped(USERS_WRITE)
async def grant_revoke(request: Request, token: AdminToken) -> Response:
    grant_id = request.path_params["grant_id"]
    await call(lambda: services(request).people.revoke_grant(grant_id[:80], actor=token.id))
    return Response(status_code=204)


# -- applications ---------------------------------------------------------------------------


@scoped(APPS_READ)
async def apps_list(request: Request, token: AdminToken) -> Response:
    query = request.query_params.get("q", "")
    if len(query) > 200 or not query.isprintable():
        raise InvalidRequest("q: at most 200 printable characters.")
    listed = await call(services(request).operator.listing, query)
    return _no_store({"applications": [app_record(i.app, i.owner_email or None) for i in listed]})


async def _app(request: Request) -> Application:
    app_id = request.path_params["app_id"]
    app = await call(services(request).registry.app, app_id) if len(app_id) <= 80 else None
    if app is None:
        raise NotFound("No such application.")
    return app


@scoped(APPS_READ)
async def app_get(request: Request, token: AdminToken) -> Response:
    return _no_store(app_record(await _app(request)))


@scoped(APPS_WRITE)
async def app_act(request: Request, token: AdminToken) -> Response:
    action = request.path_params["action"]
    if action not in APP_ACTIONS:
        raise NotFound("Choose approve, suspend or reinstate.")
    app = await _app(request)
    changed = await call(lambda: services(request).operator.act(app.id, action, actor=token.id))
    return _no_store(app_record(changed))


# -- the audit trail ------------------------------------------------------------------------


@scoped(AUDIT_READ)
async def audit_query(request: Request, token: AdminToken) -> Response:
    for name in request.query_params:
        if name not in ("user", "app", "kind", "since", "until", "before"):
            raise InvalidRequest(f"Unknown filter {name[:40]!r}.")
    found = await call(services(request).audit_trail.page, parse_query(request.query_params))
    return _no_store({"events": [event_json(e) for e in found.events], "next": found.next_before})


USER = "/users/{user_id}"
routes = [
    Route("/users", users_list, methods=["GET"]),
    Route("/users", user_create, methods=["POST"]),
    Route(USER, user_get, methods=["GET"]),
    Route(USER, user_update, methods=["PATCH"]),
    Route(USER, _acting("delete"), methods=["DELETE"]),  # type: ignore[arg-type]
    Route(USER + "/disable", _acting("disable"), methods=["POST"]),  # type: ignore[arg-type]
    Route(USER + "/enable", _acting("enable"), methods=["POST"]),  # type: ignore[arg-type]
    Route("/grants", grants_list, methods=["GET"]),
    Route("/grants/{grant_id}", grant_revoke, methods=["DELETE"]),
    Route("/applications", apps_list, methods=["GET"]),
    Route("/applications/{app_id}", app_get, methods=["GET"]),
    Route("/applications/{app_id}/{action}", app_act, methods=["POST"]),
    Route("/audit", audit_query, methods=["GET"]),
]
