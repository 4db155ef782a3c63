"""The ordered checks of a sign-in request (popup or silent iframe).

Listed once, in order, on one screen (node-oidc-provider ``lib/actions/authorization``). The
order is a security choice: the origin is checked before the application's status so a page on
an unregistered origin cannot even learn whether an application is approved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import (
    APPROVED,
    DEVELOPMENT,
    PENDING,
    Application,
    Button,
    app_mode,
    is_loopback_origin,
)
from leadexec_signin.core.errors import (
    AppNotApproved,
    InvalidButton,
    InvalidRequest,
    OriginNotAllowed,
)
from leadexec_signin.core.ports import Apps

_BTN_ID = re.compile(r"^btn_[A-Za-z0-9_-]{16,64}$")
_STATE = re.compile(r"^[\x21-\x7e]{0,256}$")
MAX_ORIGIN = 255


@dataclass(frozen=True)
class AuthorizeRequest:
    btn_id: str
    origin: str
    state: str
    immediate: bool


@dataclass(frozen=True)
class AuthorizeContext:
    request: AuthorizeRequest
    button: Button
    app: Application

    @property
    def scopes(self) -> frozenset[str]:
        # A button can never ask for more than its application is allowed.
        return self.button.scopes & self.app.scopes

    @property
    def mode(self) -> str:
        """Development or production: the consent dialog says which."""
        return app_mode(self.app.status)


def check_parameters(req: AuthorizeRequest) -> None:
    if not req.origin or len(req.origin) > MAX_ORIGIN:
        raise InvalidRequest("The origin parameter is missing or too long.")
    if not _STATE.fullmatch(req.state):
        raise InvalidRequest("The state parameter must be at most 256 printable characters.")
    if not _BTN_ID.fullmatch(req.btn_id):
        raise InvalidButton(debug=f"malformed btnId of length {len(req.btn_id)}")


def load_button(tx: Apps, req: AuthorizeRequest) -> tuple[Button, Application]:
    button = tx.button_by_id(req.btn_id)
    app = tx.app_by_id(button.app_id) if button else None
    if button is None or app is None:
        raise InvalidButton()
    return button, app


def check_origin(req: AuthorizeRequest, app: Application) -> None:
    # Exact string match against the canonical registered form: no normalisation here, so
    # look-alikes (uppercase, trailing slash or dot, default port spelled out) never match.
    if req.origin not in app.origins:
        raise OriginNotAllowed()


def check_app_status(req: AuthorizeRequest, app: Application) -> None:
    """Approved, or pending, owned by a partner account and asked from a loopback origin
    (development mode). One made from the command line has no owner, so no such mode."""
    if app.status == APPROVED:
        return
    if app.status == PENDING and app.owner_id and is_loopback_origin(req.origin):
        return  # who may use it is known only after the session: check_user
    raise AppNotApproved(
        "This application is suspended."
        if app.status == "suspended"
        else "This application is waiting for approval. Until then it works only for its "
        "owner, on http://localhost, http://127.0.0.1 or http://[::1]."
    )


def check_user(ctx: AuthorizeContext, user: User) -> None:
    """In development mode only the application's owner may sign in with it."""
    if ctx.mode == DEVELOPMENT and user.id != ctx.app.owner_id:
        raise AppNotApproved(
            "This application is waiting for approval. Until then only its owner can sign in "
            "with it."
        )


def is_btn_id(raw: str) -> bool:
    return _BTN_ID.fullmatch(raw) is not None


def check_request(tx: Apps, req: AuthorizeRequest) -> AuthorizeContext:
    """The checks, in order; each one's result is the next one's typed input. The last one,
    :func:`check_user`, follows the session."""
    check_parameters(req)
    button, app = load_button(tx, req)
    check_origin(req, app)
    check_app_status(req, app)
    return AuthorizeContext(request=req, button=button, app=app)
