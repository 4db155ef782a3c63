"""Binds each request's IP, user agent and request id for the audit trail (``core/audit.py``).

Pure ASGI, inside ``SecurityMiddleware`` (which makes the request id), so every event a use
case records during the request carries where it came from without the core knowing HTTP.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from leadexec_signin.core.audit import RequestContext, bind, unbind
from leadexec_signin.settings import Settings
from leadexec_signin.web.security.access_log import loggable
from leadexec_signin.web.security.client_ip import client_ip


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        made: list[RequestContext] = []

        def context() -> RequestContext:
            # Read the first time an event is recorded, then kept: most requests record none.
            if not made:
                request = Request(scope)
                agent = request.headers.get("user-agent", "")
                made.append(
                    RequestContext(
                        ip=client_ip(request, self.settings)[:64],
                        # The agent is whatever the client wrote: control characters escaped
                        # and anything shaped like one of our tokens redacted, as in the log.
                        user_agent=loggable(agent[:512])[:256] or None,
                        request_id=str(scope.get("state", {}).get("request_id", ""))[:40] or None,
                    )
                )
            return made[0]

        bound = bind(context)  # ``bind_request`` without a generator's cost per request
        try:
            await self.app(scope, receive, send)
        finally:
            unbind(bound)
