"""The partner console: register, edit and delete applications and buttons, rotate secrets,
copy a complete page, preview buttons, read usage, and try the buttons out.

Every partner sees only their own applications (another's is "not found"); an application
registered here starts pending, in development mode (it works for its owner on localhost)
until an operator approves it. Every page names this server's issuer in its snippets, so a
console reached under another host says so before a partner copies a wrong address.

This module is the route table; each job has its module: ``apps``, ``buttons``, ``secrets``,
``oauth_client``, ``app_page`` (the application's page and its usage), ``guide`` (docs and
Try It), with ``forms`` and ``layout`` shared by them.
"""

from __future__ import annotations

from starlette.routing import Route

from leadexec_signin.web.developers.app_page import show_app
from leadexec_signin.web.developers.apps import (
    apps_get,
    console,
    delete_app,
    edit_app,
    register,
    save_origins,
)
from leadexec_signin.web.developers.buttons import (
    add_button,
    buttons_page,
    delete_button,
    edit_button,
)
from leadexec_signin.web.developers.forms import app_action
from leadexec_signin.web.developers.guide import docs_page, try_it
from leadexec_signin.web.developers.oauth_client import save_client
from leadexec_signin.web.developers.secrets import rotate_secret

routes = [
    Route("/developers", console, methods=["GET"]),
    Route("/developers/apps", register, methods=["POST"]),
    Route("/developers/apps", apps_get, methods=["GET"]),
    Route("/developers/apps/{app_id}", show_app, methods=["GET"]),
    Route("/developers/apps/{app_id}/origins", app_action(save_origins), methods=["POST"]),
    Route("/developers/apps/{app_id}/buttons", app_action(add_button), methods=["POST"]),
    Route("/developers/apps/{app_id}/client", app_action(save_client), methods=["POST"]),
    Route("/developers/apps/{app_id}/secret", app_action(rotate_secret), methods=["POST"]),
    Route("/developers/apps/{app_id}/edit", app_action(edit_app), methods=["POST"]),
    Route("/developers/apps/{app_id}/delete", app_action(delete_app), methods=["POST"]),
    Route("/developers/apps/{app_id}/buttons/{btn_id}", app_action(edit_button), methods=["POST"]),
    Route(
        "/developers/apps/{app_id}/buttons/{btn_id}/delete",
        app_action(delete_button),
        methods=["POST"],
    ),
    Route("/developers/buttons", buttons_page, methods=["GET"]),
    Route("/developers/docs", docs_page, methods=["GET"]),
    Route("/developers/try", try_it, methods=["GET"]),
]
