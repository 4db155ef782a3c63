"""``users create``: a LeadExec account, its password read from standard input."""

from __future__ import annotations

import argparse

from leadexec_signin.cli.terminal import JsonFlag, Subcommands, emit, read_secret
from leadexec_signin.compose import build_migrated
from leadexec_signin.settings import Settings


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    password = read_secret("Password: ")
    user = build_migrated(settings).accounts.create_user(
        email=args.email,
        name=args.name,
        password=password,
        company=args.company or "",
        plan=args.plan or "",
        timezone=args.timezone or "UTC",
        locale=args.locale or "en-US",
        operator=args.operator,
    )
    data = {"id": user.id, "email": user.email, "name": user.name, "operator": user.is_operator}
    emit(args, data, f"Created user {user.email} ({user.id}).")
    return 0


def add_parsers(sub: Subcommands, with_json: JsonFlag) -> None:
    users = sub.add_parser("users", help="LeadExec accounts").add_subparsers(
        dest="users_command", required=True
    )
    uc = with_json(users.add_parser("create", help="create a user; password on stdin"))
    uc.add_argument("--email", required=True, help="sign-in email (unique)")
    uc.add_argument("--name", required=True, help="display name")
    uc.add_argument("--company", help="company (released by the account scope)")
    uc.add_argument("--plan", help="LeadExec plan (released by the account scope)")
    uc.add_argument("--timezone", help="IANA time zone, e.g. Europe/Paris (default UTC)")
    uc.add_argument("--locale", help="locale, e.g. fr-FR (default en-US)")
    uc.add_argument("--operator", action="store_true", help="may approve apps at /admin")
    uc.set_defaults(fn=cmd_users_create)
