"""An application's OAuth 2.1 / OpenID Connect registration, saved from its page."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from leadexec_signin.core.accounts import User
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.web.context import call, services
from leadexec_signin.web.developers.app_page import app_page
from leadexec_signin.web.developers.oauth_form import posted_client_fields, registration


async def save_client(request: Request, user: User, form: FormData, app_id: str) -> Response:
    fields: dict[str, object] | None = None
    try:
        fields = posted_client_fields(form)
        await call(services(request).console.set_client, app_id, user, registration(fields))
    except InvalidRequest as exc:
        return await app_page(
            request, app_id, user, error=exc, status=400, oauth=fields, tab="oauth"
        )
    return RedirectResponse(f"/developers/apps/{app_id}?done=client#oauth", status_code=303)
