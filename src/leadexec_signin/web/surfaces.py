"""A surface is a group of routes mounted with the renderer of its errors.

The seed's JSON/JSONP API, the bearer-protected LeadExec API, the popup's result pages and the
people's HTML pages each answer a refusal in their own shape; which shape is decided where the
routes are mounted, never by looking at the URL afterwards. Everything raised under a surface,
including its 404/405, an over-long address, an over-large body and any unexpected exception,
is rendered by that surface's renderer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from leadexec_signin.core.errors import (
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ServerError,
    SigninError,
    TemporarilyUnavailable,
)

log = logging.getLogger("leadexec_signin.web")

Renderer = Callable[[Request, SigninError], Response]
MAX_QUERY_BYTES = 8192


async def send_json(send: Send, body: object, headers: Sequence[tuple[bytes, bytes]]) -> None:
    """A 200 JSON answer written straight to ASGI, byte for byte what Starlette's
    ``JSONResponse(body, headers=...)`` writes: for the hot paths that skip the router."""
    content = json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-length", str(len(content)).encode()),
                (b"content-type", b"application/json"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


def as_signin_error(request: Request, exc: Exception) -> SigninError:
    """Any exception as the error the client may see; details only reach the log."""
    if isinstance(exc, SigninError):
        if exc.status >= 500 and not isinstance(exc, TemporarilyUnavailable):
            log.error("server_error id=%s %s", request_id(request), exc.debug or exc.description)
        elif exc.debug:
            log.info("%s id=%s %s", exc.code, request_id(request), exc.debug)
        return exc
    if isinstance(exc, HTTPException):
        if exc.status_code == 405:
            return MethodNotAllowed()
        if exc.status_code == 404:
            return NotFound("There is nothing at this address.")
        return InvalidRequest("The request could not be understood.", status=exc.status_code)
    log.error("unexpected error id=%s", request_id(request), exc_info=exc)
    return ServerError()


def refusal(render: Renderer, request: Request, exc: Exception) -> Response:
    """Any exception raised under a surface, as that surface answers it."""
    error = as_signin_error(request, exc)
    response = render(request, error)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)  # Allow on a 405
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


RENDERER = "surface_renderer"
ANSWER = "leadexec.answer"  # scope key: {"status": 0 until the response starts}


def rendered_by(endpoint: Callable[..., object], render: Renderer) -> Callable[..., object]:
    """One route of a surface that answers refusals in another surface's shape (a single
    path cannot be a mount of its own)."""
    setattr(endpoint, RENDERER, render)
    return endpoint


def rendered_by_all(routes: Sequence[Route], render: Renderer) -> list[Route]:
    """``rendered_by`` for each route of a list."""
    for route in routes:
        rendered_by(route.endpoint, render)
    return list(routes)


def mount(path: str, render: Renderer, routes: Sequence[BaseRoute]) -> Mount:
    """A surface at a path prefix. Starlette's Mount pattern stops at a newline (``.`` without
    DOTALL), so a path with an encoded newline would slip past every surface to Starlette's
    plain-text 404; this one matches any path under the prefix."""
    mounted = Mount(path, app=Surface(render, routes))
    mounted.path_regex = re.compile(mounted.path_regex.pattern, re.DOTALL)
    return mounted


class Surface:
    """An ASGI app: its routes, and its renderer around them."""

    def __init__(self, render: Renderer, routes: Sequence[BaseRoute]) -> None:
        self.render = render
        self.routes = list(routes)
        # No slash redirects: /api would become /api/ only to be a 404 there.
        self.router = Router(routes=self.routes, redirect_slashes=False)

    def _nested_surface_takes(self, scope: Scope) -> bool:
        """Whether a surface mounted inside this one answers the request (then it decides)."""
        for route in self.routes:
            if isinstance(route, Mount) and isinstance(route.app, Surface):
                if route.matches(scope)[0] == Match.FULL:
                    return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.router(scope, receive, send)
            return
        # Starlette's own handlers (a plain-text 400 for a broken form) would answer before
        # this surface could: everything under it is rendered here instead.
        scope["starlette.exception_handlers"] = ({}, {})
        try:
            too_long = len(scope.get("query_string", b"")) > MAX_QUERY_BYTES
            if too_long and not self._nested_surface_takes(scope):
                raise InvalidRequest("The address is too long.", status=414)
            await self.router(scope, receive, send)
        except Exception as exc:
            # SecurityMiddleware records the answer's status as it starts (no wrapper of our
            # own around ``send`` on every message).
            if scope.get(ANSWER, {}).get("status"):
                raise  # the answer already began: nothing sane left to send
            render = getattr(scope.get("endpoint"), RENDERER, None) or self.render
            await refusal(render, Request(scope, receive), exc)(scope, receive, send)
