"""What every admin API call does before and after its own work: the bearer token checked
for the call's scope (and counted against its limit), the JSON body read within bounds, and
the call recorded in the audit trail with the token as its actor, whatever its outcome."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.admin_tokens import AdminToken
from leadexec_signin.core.errors import InvalidRequest, SigninError
from leadexec_signin.web.context import call, services

MAX_BODY = 64 * 1024
Endpoint = Callable[[Request, AdminToken], Awaitable[Response]]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def scoped(scope: str) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @wraps(endpoint)
        async def run(request: Request) -> Response:
            svc = services(request)
            token = await call(svc.admin_api.authenticate, bearer(request), scope)
            status = 500
            try:
                response = await endpoint(request, token)
                status = response.status_code
                return response
            except SigninError as exc:
                status = exc.status
                raise
            finally:
                await call(svc.admin_api.called, token, request.method, request.url.path, status)

        return run

    return wrap


async def json_body(request: Request, allowed: frozenset[str]) -> dict[str, object]:
    """A JSON object of at most 64 KiB naming only ``allowed`` fields."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidRequest("The body is too large (64 KiB at most).", status=413)
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest(f"Unknown field {unknown[0][:40]!r}.")
    return body


def text(body: dict[str, object], name: str, default: str | None = None) -> str | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string.")
    return value


def flag(body: dict[str, object], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false.")
    return value
