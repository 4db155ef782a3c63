"""``agents``: the clients that registered themselves (AI agents), and the domains an operator
blocks: ``agents list``, ``agents block DOMAIN``, ``agents unblock DOMAIN`` (what /admin/agents
does, attributed to "cli" in the audit trail)."""

from __future__ import annotations

import argparse

from leadexec_signin.cli.terminal import JsonFlag, Subcommands, emit
from leadexec_signin.compose import build_migrated
from leadexec_signin.settings import Settings


def cmd_agents_list(args: argparse.Namespace, settings: Settings) -> int:
    clients, blocked = build_migrated(settings).self_registration.clients()
    rows = [
        {
            "clientId": c.client_id,
            "name": c.name,
            "kind": c.kind,
            "domain": c.domain,
            "status": c.status,
            "lastUsedAt": c.last_used_at.isoformat() if c.last_used_at else None,
        }
        for c in clients
    ]
    lines = [
        f"{r['domain']}\t{r['kind']}\t{r['status']}\t{r['clientId']}\t{r['name']}" for r in rows
    ]
    lines += [f"blocked: {b.domain}" for b in blocked]
    emit(
        args,
        {"clients": rows, "blockedDomains": [b.domain for b in blocked]},
        "\n".join(lines) or "No client has registered itself.",
    )
    return 0


def cmd_agents_block(args: argparse.Namespace, settings: Settings) -> int:
    registration = build_migrated(settings).self_registration
    if args.agents_command == "unblock":
        changed = registration.unblock_domain(args.domain, actor="cli")
        emit(args, {"unblocked": args.domain, "reinstated": changed},
             f"{args.domain} unblocked; {len(changed)} client(s) work again.")  # fmt: skip
    else:
        changed = registration.block_domain(args.domain, actor="cli")
        emit(args, {"blocked": args.domain, "suspended": changed},
             f"{args.domain} blocked; {len(changed)} client(s) stopped.")  # fmt: skip
    return 0


def add_parsers(sub: Subcommands, with_json: JsonFlag) -> None:
    agents = sub.add_parser(
        "agents", help="clients that registered themselves, and blocked domains"
    ).add_subparsers(dest="agents_command", required=True)
    with_json(agents.add_parser("list", help="self-registered clients and blocked domains")
              ).set_defaults(fn=cmd_agents_list)  # fmt: skip
    for verb, words in (
        ("block", "refuse a domain (and its subdomains); its clients stop at once"),
        ("unblock", "accept a domain again; its clients work again"),
    ):
        sp = with_json(agents.add_parser(verb, help=words))
        sp.add_argument("domain", help="a host name such as agent.example")
        sp.set_defaults(fn=cmd_agents_block)
