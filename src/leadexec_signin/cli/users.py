"""``users``: create, list, show, disable, enable, delete, reset-factors, set-operator.

Every act goes through the one people-management use case (``core/actions/people.py``), as
the operators' pages and the admin API do, audited with the actor ``cli``.
"""

from __future__ import annotations

import argparse

from leadexec_signin.cli.terminal import JsonFlag, Subcommands, emit, read_secret
from leadexec_signin.compose import build_migrated
from leadexec_signin.core.actions.people import People
from leadexec_signin.core.clock import iso_z
from leadexec_signin.core.people import FILTERS, query_of, user_record
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


def _user_id(people: People, who: str) -> str:
    """A user named by id (``usr_...``) or by email."""
    return who if who.startswith("usr_") else people.by_email(who).id


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    people = build_migrated(settings).people
    found = people.search(
        query_of(
            args.search or "", flags=args.filter or [], after=args.after or "", limit=args.limit
        )
    )
    rows = [user_record(u, has_factor=u.id in found.factors) for u in found.users]
    lines = [
        f"{u.email:40} {u.name[:30]:30} {'operator ' if u.is_operator else ''}"
        f"{'disabled' if u.disabled else ''}".rstrip()
        for u in found.users
    ]
    if found.next_after:
        lines.append(f"(more: --after {found.next_after})")
    emit(args, {"users": rows, "next": found.next_after or None}, "\n".join(lines) or "No user.")
    return 0


def cmd_users_show(args: argparse.Namespace, settings: Settings) -> int:
    people = build_migrated(settings).people
    detail = people.detail(_user_id(people, args.user))
    data = {
        **user_record(detail.user, has_factor=detail.factor_count > 0),
        "grants": [
            {
                "appId": g.grant.app_id,
                "name": g.app_name,
                "scopes": sorted(g.grant.scopes),
                "lastUsedAt": iso_z(g.grant.last_used_at),
            }
            for g in detail.grants
        ],
        "browsers": len(detail.sessions),
        "passkeys": [p.name for p in detail.passkeys],
        "authenticatorApp": detail.totp_since is not None,
        "recentEvents": [
            {"at": iso_z(e.at), "event": e.event, "actor": e.actor} for e in detail.events
        ],
    }
    u = detail.user
    text = "\n".join(
        [
            f"{u.email} ({u.id}) {u.name}",
            f"operator: {u.is_operator}  disabled: {u.disabled}  second factors: "
            f"{detail.factor_count}  browsers: {len(detail.sessions)}",
            *(f"  app {g.app_name} ({g.grant.app_id}): {' '.join(sorted(g.grant.scopes))}"
              for g in detail.grants),
        ]
    )  # fmt: skip
    emit(args, data, text)
    return 0


def _acting(action: str, done: str) -> object:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        people = build_migrated(settings).people
        chosen = action
        if action == "set-operator":
            chosen = "make-operator" if args.on == "on" else "unmake-operator"
        user = people.act(_user_id(people, args.user), chosen, actor="cli")
        data = {**user_record(user), "done": chosen}
        if chosen == "delete":
            data = {"id": user.id, "deleted": True, "done": chosen}
        emit(args, data, done.format(email=user.email, id=user.id))
        return 0

    return run


ACTS = {
    "disable": ("disable the account: sessions and grants end, partners are told",
                "Disabled {email} ({id}): signed out everywhere, every application's access "
                "ended."),
    "enable": ("enable a disabled account", "Enabled {email} ({id})."),
    "delete": ("delete the account (grants end with via: account_deleted)",
               "Deleted {email} ({id})."),
    "reset-factors": ("remove every passkey, authenticator app and recovery code (mails them)",
                      "Second factors of {email} removed; they were told by mail."),
    "set-operator": ("make (on) or unmake (off) an operator", "{email}: operator role set."),
}  # fmt: skip


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
    ul = with_json(users.add_parser("list", help="list or search users, 50 a page"))
    ul.add_argument("--search", help="part of an email or a name")
    ul.add_argument("--filter", action="append", choices=FILTERS, help="narrow (repeatable)")
    ul.add_argument("--after", help="the email the previous page ended at")
    ul.add_argument("--limit", type=int, default=50, help="users a page (1-200)")
    ul.set_defaults(fn=cmd_users_list)
    us = with_json(users.add_parser("show", help="a user: profile, grants, factors, events"))
    us.add_argument("user", help="email or usr_ id")
    us.set_defaults(fn=cmd_users_show)
    for name, (help_text, done) in ACTS.items():
        sp = with_json(users.add_parser(name, help=help_text))
        sp.add_argument("user", help="email or usr_ id")
        if name == "set-operator":
            sp.add_argument(
                "on", choices=("on", "off"), help="on: make an operator; off: no longer one"
            )
        sp.set_defaults(fn=_acting(name, done))
