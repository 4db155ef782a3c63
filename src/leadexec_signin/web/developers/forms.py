"""The console's posted forms: bounded text fields, one origin or URI a line, and the CSRF
check and signed-in partner every form about one application starts with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.web.context import services
from leadexec_signin.web.pages import require_user
from leadexec_signin.web.security.csrf import check_csrf

MAX_ORIGIN_LINES = 20
# A textarea of URIs: room for the 20 the core allows at a realistic length, well inside the
# request body limit together with the JWKS.
MAX_URI_FIELD = 12_000


def text(form: FormData, name: str, limit: int = 2048) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"The field {name} is too long or not text.")
    return value


def origin_lines(raw: str) -> list[str]:
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if len(lines) > MAX_ORIGIN_LINES:
        raise InvalidRequest(f"At most {MAX_ORIGIN_LINES} origins per application.")
    return lines


def uri_lines(raw: str) -> tuple[str, ...]:
    """The core counts and checks them, with words that name redirect URIs, not origins."""
    return tuple(line.strip() for line in raw.splitlines() if line.strip())


def chosen_scopes(form: FormData) -> list[str]:
    return [s for s in form.getlist("scopes") if isinstance(s, str)]


async def checked_form(request: Request) -> tuple[User, FormData]:
    form = await request.form(max_files=0, max_fields=40)
    check_csrf(request, services(request).settings, form.get("csrf"))
    return await require_user(request), form


AppAction = Callable[[Request, User, FormData, str], Awaitable[Response]]


def app_action(handler: AppAction) -> Callable[[Request], Awaitable[Response]]:
    """A console form about one application: CSRF checked, signed in, the id from the path."""

    async def endpoint(request: Request) -> Response:
        user, form = await checked_form(request)
        return await handler(request, user, form, request.path_params["app_id"])

    return endpoint
