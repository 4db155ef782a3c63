"""``grants revoke``: remove a user's access to an application (its tokens stop at once)."""

from __future__ import annotations

import argparse

from leadexec_signin.cli.terminal import JsonFlag, Subcommands, emit
from leadexec_signin.compose import build_migrated
from leadexec_signin.settings import Settings


def cmd_grants_revoke(args: argparse.Namespace, settings: Settings) -> int:
    build_migrated(settings).revocation.by_operator(args.app, args.user, actor="cli")
    emit(args, {"revoked": True}, f"Access of {args.user} to {args.app} removed.")
    return 0


def add_parsers(sub: Subcommands, with_json: JsonFlag) -> None:
    grants = sub.add_parser("grants", help="users' access to applications").add_subparsers(
        dest="grants_command", required=True
    )
    gr = with_json(grants.add_parser("revoke", help="remove a user's access to an application"))
    gr.add_argument("--app", required=True, help="the appId")
    gr.add_argument("--user", required=True, help="the user's email")
    gr.set_defaults(fn=cmd_grants_revoke)
