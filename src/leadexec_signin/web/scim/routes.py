"""SCIM 2.0 at ``/scim/v2`` (RFC 7644): ``Users`` (create, read, replace, patch per section
3.5.2, delete, ``filter=userName eq "..."`` with ``startIndex``/``count`` paging),
``ServiceProviderConfig``, ``ResourceTypes`` and ``Schemas``; errors per section 3.12.

Bearer tokens are the operators' API tokens with the ``scim`` scope; every call is audited
with the token as actor. ``active: false`` is the operators' disable (sessions and grants end,
partners are told); DELETE is their delete. The wire format is ``scim2-models``' (pydantic),
the rules the people-management use case's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadexec_signin.core.accounts import User
from leadexec_signin.core.admin_tokens import SCIM, AdminToken
from leadexec_signin.core.errors import InvalidRequest, NotFound, SigninError
from leadexec_signin.core.people import Change, ScimIdentity
from leadexec_signin.web.admin_api.calls import MAX_BODY, scoped
from leadexec_signin.web.context import call, services
from leadexec_signin.web.scim import model as m

if TYPE_CHECKING:
    import scim2_models as scim
else:
    from leadexec_signin.web.scim.lazy import scim

BASE = "/scim/v2"
MEDIA = "application/scim+json"
MAX_COUNT = 200


class ScimRefusal(InvalidRequest):
    """A refusal with its RFC 7644 section 3.12 ``scimType``."""

    def __init__(self, description: str, scim_type: str | None, status: int = 400) -> None:
        super().__init__(description, status=status)
        self.scim_type = scim_type


_TYPES = {"invalid_request": "invalidValue", "conflict": "uniqueness"}


def render_scim(request: Request, exc: SigninError) -> Response:
    """RFC 7644 section 3.12: ``{schemas: [Error], status, scimType?, detail}``."""
    scim_type = getattr(exc, "scim_type", None) or (
        _TYPES.get(exc.code) if exc.status in (400, 409) else None
    )
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(exc.status), "detail": exc.description}  # fmt: skip
    if scim_type:
        body["scimType"] = scim_type
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="LeadExec SCIM", error="invalid_token"'
    return JSONResponse(body, status_code=exc.status, media_type=MEDIA, headers=headers)


def _answer(body: object, status: int = 200, location: str | None = None) -> Response:
    headers = {"Cache-Control": "no-store"}
    if location:
        headers["Location"] = location
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def _base(request: Request) -> str:
    return services(request).settings.issuer + BASE


def _refusal(exc: Exception) -> ScimRefusal:
    """What scim2-models and pydantic refuse, as a SCIM error."""
    if isinstance(exc, scim.SCIMException):
        error = exc.to_error()
        return ScimRefusal(error.detail or "Invalid request.", error.scim_type,
                           int(error.status or 400))  # fmt: skip
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        kind = str(first.get("type", ""))
        scim_type = kind.removeprefix("scim_") if kind.startswith("scim_") else "invalidValue"
        where = ".".join(str(p) for p in first.get("loc", ()))
        return ScimRefusal(f"{where}: {first.get('msg', 'invalid')}".strip(": "), scim_type)
    return ScimRefusal("The request is not valid SCIM.", "invalidSyntax")


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ScimRefusal("The body is too large (64 KiB at most).", None, status=413)
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise ScimRefusal("The body is not valid JSON.", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise ScimRefusal("The body must be a JSON object.", "invalidSyntax")
    return body


def _parse(model: Any, body: object, ctx: scim.Context) -> Any:
    try:
        return model.model_validate(body, scim_ctx=ctx)
    except (ValidationError, scim.SCIMException) as exc:
        raise _refusal(exc) from None


def _params(request: Request) -> Any:
    p = request.query_params
    wanted = {k: p[k] for k in ("attributes", "excludedAttributes") if k in p}
    return _parse(scim.ResponseParameters[m.user_model()], wanted, scim.Context.SEARCH_REQUEST)  # type: ignore[misc]


def _dump(request: Request, resource: Any, params: Any = None) -> dict[str, Any]:
    return resource.model_dump(
        scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE, response_parameters=params
    )


async def _user(request: Request) -> User:
    return await call(services(request).people.find, request.path_params["user_id"])


# -- discovery --------------------------------------------------------------------------------


@scoped(SCIM)
async def service_provider_config(request: Request, token: AdminToken) -> Response:
    return _answer(_dump(request, m.service_provider_config(_base(request))))


def _list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources), "startIndex": 1,
            "itemsPerPage": len(resources), "Resources": resources}  # fmt: skip


@scoped(SCIM)
async def resource_types(request: Request, token: AdminToken) -> Response:
    return _answer(_list([_dump(request, m.resource_type(_base(request)))]))


@scoped(SCIM)
async def resource_type(request: Request, token: AdminToken) -> Response:
    if request.path_params["name"] != "User":
        raise NotFound("No such resource type.")
    return _answer(_dump(request, m.resource_type(_base(request))))


@scoped(SCIM)
async def schemas(request: Request, token: AdminToken) -> Response:
    return _answer(_list([_dump(request, m.schema_document(_base(request)))]))


@scoped(SCIM)
async def schema(request: Request, token: AdminToken) -> Response:
    if request.path_params["urn"] != m.USER_SCHEMA:
        raise NotFound("No such schema.")
    return _answer(_dump(request, m.schema_document(_base(request))))


# -- Users ------------------------------------------------------------------------------------


def _number(raw: str | None, name: str, default: int, least: int) -> int:
    if raw is None:
        return default
    if not raw.lstrip("-").isdigit() or len(raw) > 9:
        raise ScimRefusal(f"{name} must be an integer.", "invalidValue")
    return max(least, int(raw))


def _wanted_user_name(raw: str) -> str:
    """RFC 7644 section 3.4.2.2, the one filter served: ``userName eq "value"``."""
    try:
        parsed = scim.ScimFilter[m.user_model()](raw)  # type: ignore[misc,operator]
    except (ValidationError, scim.SCIMException, ValueError) as exc:
        raise ScimRefusal(f"The filter is not valid: {str(exc)[:120]}", "invalidFilter") from None
    ast = parsed.ast
    path = getattr(ast, "attr_path", None)
    attribute = str(getattr(path, "attr", "")).casefold()
    sub = getattr(path, "sub_attr", None)
    operator = str(getattr(getattr(ast, "op", None), "value", "")).casefold()
    value = getattr(ast, "value", None)
    if attribute != "username" or sub or operator != "eq" or not isinstance(value, str):
        raise ScimRefusal('Only filter=userName eq "..." is supported.', "invalidFilter")
    return value


async def _search(
    request: Request, filter_: str | None, start: int, count: int, params: Any
) -> Response:
    svc = services(request)
    count = min(count, MAX_COUNT)
    if filter_ is not None:
        name = _wanted_user_name(filter_)
        found = await call(svc.people.by_user_name, name)
        everyone = [found] if found else []
        total, page = len(everyone), everyone[start - 1 : start - 1 + count]
    else:
        total, page = await call(svc.people.page_by_offset, start - 1, count)
    resources = [_dump(request, m.to_scim(u, _base(request)), params) for u in page]
    return _answer({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": total, "startIndex": start, "itemsPerPage": len(resources),
                    "Resources": resources})  # fmt: skip


@scoped(SCIM)
async def users_list(request: Request, token: AdminToken) -> Response:
    p = request.query_params
    start = _number(p.get("startIndex"), "startIndex", 1, 1)
    count = _number(p.get("count"), "count", 100, 0)
    return await _search(request, p.get("filter"), start, count, _params(request))


@scoped(SCIM)
async def users_search(request: Request, token: AdminToken) -> Response:
    """RFC 7644 section 3.4.3: the same query in a POST body."""
    body = await _json(request)
    found = _parse(scim.SearchRequest[m.user_model()], body, scim.Context.SEARCH_REQUEST)  # type: ignore[misc]
    params = _parse(
        scim.ResponseParameters[m.user_model()],  # type: ignore[misc]
        {k: body[k] for k in ("attributes", "excludedAttributes") if k in body},
        scim.Context.SEARCH_REQUEST,
    )
    filter_ = str(found.filter) if found.filter is not None else None
    count = found.count if found.count is not None else 100
    return await _search(request, filter_, max(1, found.start_index or 1), max(0, count), params)


@scoped(SCIM)
async def user_get(request: Request, token: AdminToken) -> Response:
    user = await _user(request)
    return _answer(_dump(request, m.to_scim(user, _base(request)), _params(request)))


@scoped(SCIM)
async def user_create(request: Request, token: AdminToken) -> Response:
    svc = services(request)
    resource = _parse(m.user_model(), await _json(request), scim.Context.RESOURCE_CREATION_REQUEST)
    wanted = m.Wanted(resource, None)
    user = await call(
        lambda: svc.provisioning.create(
            email=wanted.email, profile=wanted.profile, disabled=wanted.active is False,
            scim=ScimIdentity(wanted.user_name, wanted.attributes), actor=token.id,
        )
    )  # fmt: skip
    body = _dump(request, m.to_scim(user, _base(request)))
    return _answer(body, 201, location=body["meta"]["location"])


async def _replace(request: Request, token: AdminToken, resource: Any, user: User) -> Response:
    wanted = m.Wanted(resource, user)
    change = Change(
        profile=wanted.profile,
        disabled=None if wanted.active is None else not wanted.active,
        email=wanted.email,
        scim=ScimIdentity(wanted.user_name, wanted.attributes),
    )
    people = services(request).people
    updated = await call(lambda: people.update(user.id, change, actor=token.id))
    return _answer(_dump(request, m.to_scim(updated, _base(request))))


@scoped(SCIM)
async def user_replace(request: Request, token: AdminToken) -> Response:
    user = await _user(request)
    body = await _json(request)
    resource = _parse(m.user_model(), body, scim.Context.RESOURCE_REPLACEMENT_REQUEST)
    if resource.id is not None and resource.id != user.id:
        raise ScimRefusal("id is immutable.", "mutability")
    return await _replace(request, token, resource, user)


@scoped(SCIM)
async def user_patch(request: Request, token: AdminToken) -> Response:
    """RFC 7644 section 3.5.2: the operations apply to the current resource, all or none
    (scim2-models refuses a path outside the schema, or a read-only or immutable target)."""
    user = await _user(request)
    body = await _json(request)
    patch = _parse(scim.PatchOp[m.user_model()], body, scim.Context.RESOURCE_PATCH_REQUEST)  # type: ignore[misc]
    resource = m.to_scim(user, _base(request))
    try:
        patch.patch(resource)
    except (ValidationError, scim.SCIMException, ValueError) as exc:
        raise _refusal(exc) from None
    if resource.id != user.id:
        raise ScimRefusal("id is immutable.", "mutability")
    return await _replace(request, token, resource, user)


@scoped(SCIM)
async def user_delete(request: Request, token: AdminToken) -> Response:
    people = services(request).people
    user = await _user(request)
    await call(lambda: people.act(user.id, "delete", actor=token.id))
    return Response(status_code=204)


USER = "/Users/{user_id}"
routes = [
    Route("/ServiceProviderConfig", service_provider_config, methods=["GET"]),
    Route("/ResourceTypes", resource_types, methods=["GET"]),
    Route("/ResourceTypes/{name}", resource_type, methods=["GET"]),
    Route("/Schemas", schemas, methods=["GET"]),
    Route("/Schemas/{urn}", schema, methods=["GET"]),
    Route("/Users", users_list, methods=["GET"]),
    Route("/Users", user_create, methods=["POST"]),
    Route("/Users/.search", users_search, methods=["POST"]),
    # The server root's search (section 3.4.3): Users is the one resource type served.
    Route("/.search", users_search, methods=["POST"]),
    Route(USER, user_get, methods=["GET"]),
    Route(USER, user_replace, methods=["PUT"]),
    Route(USER, user_patch, methods=["PATCH"]),
    Route(USER, user_delete, methods=["DELETE"]),
]
