"""``/docs``: the interactive API reference, Swagger UI over ``/openapi.json``.

Swagger UI comes from the ``swagger-ui-py`` package's copy of its files and is served from this
origin, so the page needs no CDN and keeps the pages' script policy (``script-src 'self'``, no
inline script: its start-up lives in ``static/docs/api_docs.js``). Swagger UI sets element
styles from script, so this one page allows inline styles; nothing on it takes input from the
address bar, and the "Try it out" calls go to this origin only (``connect-src 'self'``).
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui  # type: ignore[import-untyped]  # swagger-ui-py ships no type information
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from leadexec_signin.i18n import N_
from leadexec_signin.web.security.headers import page_csp

SWAGGER_UI = Path(swagger_ui.__file__).resolve().parent / "static"
DOCS_CSP = (
    page_csp()
    .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    .replace("default-src 'none';", "default-src 'none'; connect-src 'self';")
)


async def api_docs(request: Request) -> Response:
    response: Response = request.app.state.templates.TemplateResponse(
        request, "api_docs.html", {"title": N_("API reference")}
    )
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


routes: list[BaseRoute] = [
    Route("/docs", api_docs, methods=["GET"]),
    Mount("/static/vendor/swagger-ui", StaticFiles(directory=SWAGGER_UI), name="swagger-ui"),
]
