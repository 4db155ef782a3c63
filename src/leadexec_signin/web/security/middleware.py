"""The one middleware in front of every route: a request id, the default headers, the body
limit, the access log, and the request's latency in the metrics (by the route template the
router matched)."""

from __future__ import annotations

import itertools
import logging
import os
import time

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadexec_signin.logs import REQUEST_ID
from leadexec_signin.settings import Settings
from leadexec_signin.web.metrics import RequestMetrics
from leadexec_signin.web.security.access_log import access_log, log_request
from leadexec_signin.web.security.body_limit import limit_body
from leadexec_signin.web.security.headers import add_defaults
from leadexec_signin.web.surfaces import ANSWER

# Request ids only need to be unique in the logs: a random per-process prefix and a counter
# (uuid4 costs a system call on every request).
_REQUEST_PREFIX = os.urandom(4).hex()
_REQUEST_COUNTER = itertools.count(1)


def next_request_id() -> str:
    return f"{_REQUEST_PREFIX}{next(_REQUEST_COUNTER):08x}"


LAST_RESORT = PlainTextResponse("The server could not complete the request.", status_code=500)


class SecurityMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so it costs one closure a request."""

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
                add_defaults(headers, path, request_id, self.hsts)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(
                scope, limit_body(receive, self.settings.max_body_bytes), send_with_headers
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
            if access_log.isEnabledFor(logging.INFO):
                log_request(scope, status, elapsed, request_id, self.metrics.route(route))
            REQUEST_ID.reset(bound)
