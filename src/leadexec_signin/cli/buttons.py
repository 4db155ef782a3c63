"""``buttons create``: a sign-in button for an application."""

from __future__ import annotations

import argparse

from leadexec_signin.cli.terminal import JsonFlag, Subcommands, emit
from leadexec_signin.compose import build_migrated
from leadexec_signin.core.apps import DEFAULT_BUTTON_TEXT
from leadexec_signin.settings import Settings


def cmd_buttons_create(args: argparse.Namespace, settings: Settings) -> int:
    button = build_migrated(settings).registry.create_button(
        app_id=args.app, scopes=args.scopes, theme=args.theme, size=args.size, text=args.text
    )
    data = {
        "btnId": button.id,
        "appId": button.app_id,
        "scopes": sorted(button.scopes),
        "theme": button.theme,
        "size": button.size,
    }
    emit(args, data, f"Created button {button.id} for {button.app_id}.")
    return 0


def add_parsers(sub: Subcommands, with_json: JsonFlag) -> None:
    buttons = sub.add_parser("buttons", help="sign-in buttons").add_subparsers(
        dest="buttons_command", required=True
    )
    bc = with_json(buttons.add_parser("create", help="a button for an application"))
    bc.add_argument("--app", required=True, help="the appId")
    bc.add_argument("--scopes", required=True, help="scopes the button asks for")
    bc.add_argument("--theme", default="light", help="light or dark")
    bc.add_argument("--size", default="medium", help="small, medium or large")
    bc.add_argument("--text", default=DEFAULT_BUTTON_TEXT, help="the button's words")
    bc.set_defaults(fn=cmd_buttons_create)
