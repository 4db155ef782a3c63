"""Who may read a FedCM answer: the assertion and disconnect endpoints are CORS requests the
browser makes for the partner's page, and it reads an answer (a token, or the refusal it then
shows in its error dialog) only when told the page's exact origin may.

The route decides, once it knows the origin and the application the browser named; the
renderer of refusals (``fedcm_renderer.py``) asks the same question, so a refusal is readable by
exactly the pages a success would be, and by no other.
"""

from __future__ import annotations

from starlette.requests import Request

READABLE_BY = "fedcm_readable_by"  # request state: the registered origin, once checked


def cors(origin: str) -> dict[str, str]:
    # The exact registered origin, never "*" and never a reflected unregistered one: the
    # answer carries tokens and the session's credentials.
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def allow_reading(request: Request, origin: str) -> None:
    """Called only after ``origin`` was found among the application's registered origins."""
    setattr(request.state, READABLE_BY, origin)


def readable_by(request: Request) -> dict[str, str]:
    """The CORS headers of whatever is answered to this request: none unless allowed."""
    origin = request.scope.get("state", {}).get(READABLE_BY)
    return cors(origin) if isinstance(origin, str) else {}
