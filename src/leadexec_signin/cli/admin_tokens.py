"""``admin-tokens create|list|revoke``: the operators' API tokens (admin REST API, SCIM).

A new token is printed once; LeadExec keeps only its hash."""

from __future__ import annotations

import argparse

from leadexec_signin.cli.terminal import JsonFlag, Subcommands, emit
from leadexec_signin.compose import build_migrated
from leadexec_signin.core.admin_tokens import SCOPES, AdminToken
from leadexec_signin.core.clock import iso_z
from leadexec_signin.settings import Settings


def token_json(token: AdminToken) -> dict[str, object]:
    return {
        "id": token.id,
        "name": token.name,
        "scopes": sorted(token.scopes),
        "createdBy": token.created_by,
        "createdAt": iso_z(token.created_at),
        "expiresAt": iso_z(token.expires_at) if token.expires_at else None,
        "lastUsedAt": iso_z(token.last_used_at) if token.last_used_at else None,
        "revokedAt": iso_z(token.revoked_at) if token.revoked_at else None,
    }


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    raw, token = build_migrated(settings).admin_api.create(
        name=args.name, scopes=args.scopes, expires=args.expires, actor="cli"
    )
    text = (f"Token {token.id} ({', '.join(sorted(token.scopes))}): {raw}\n"
            "Copy it now: it is not shown again.")  # fmt: skip
    emit(args, {**token_json(token), "token": raw}, text)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    tokens = build_migrated(settings).admin_api.tokens()
    lines = [f"{t.id} {t.name!r} {','.join(sorted(t.scopes))}"
             f"{' revoked' if t.revoked_at else ''}" for t in tokens]  # fmt: skip
    emit(args, [token_json(t) for t in tokens], "\n".join(lines) or "No token.")
    return 0


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    build_migrated(settings).admin_api.revoke(args.token_id, actor="cli")
    emit(args, {"id": args.token_id, "revoked": True}, f"Token {args.token_id} revoked.")
    return 0


def add_parsers(sub: Subcommands, with_json: JsonFlag) -> None:
    tokens = sub.add_parser(
        "admin-tokens", help="operator API tokens (admin API, SCIM)"
    ).add_subparsers(dest="admin_tokens_command", required=True)
    c = with_json(tokens.add_parser("create", help="a new token, printed once"))
    c.add_argument("--name", default="command line", help="what it is for")
    c.add_argument("--scopes", required=True, help=f"comma-separated: {','.join(SCOPES)}")
    c.add_argument("--expires", default="90d", help="90d, 12h or never (default 90d)")
    c.set_defaults(fn=cmd_create)
    with_json(tokens.add_parser("list", help="every token, never its secret")).set_defaults(
        fn=cmd_list
    )
    r = with_json(tokens.add_parser("revoke", help="stop a token at once"))
    r.add_argument("token_id", help="its id (adt_...)")
    r.set_defaults(fn=cmd_revoke)
