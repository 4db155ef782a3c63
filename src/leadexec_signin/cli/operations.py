"""The operators' commands of ``leadexec-signin``: ``audit export``, ``keys list|rotate|retire``,
``backup`` and ``restore`` (docs/operations.md has a section for each).

One module for the operations work, beside one per noun the rest of the command line
administers (``users``, ``apps``, ``buttons``, ``grants``). None of them loads the web
stack. Every refusal is a ``SigninError``, which ``cli.main`` prints as one line and exit
status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from leadexec_signin.compose import Services, build_migrated
from leadexec_signin.core.actions.audit_trail import csv_lines, event_json, parse_query
from leadexec_signin.core.actions.key_rotation import KeyView
from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.core.keys import ALGORITHMS
from leadexec_signin.settings import Settings

JsonFlag = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def _services(settings: Settings) -> Services:
    if not settings.database_url and not settings.embedded_database.exists():
        # Run from the wrong place, the embedded default would be a new, empty database:
        # an export of nothing, or keys made for a database no server uses.
        raise NotFound(
            f"No database at {settings.embedded_database}. Run this where the server runs, "
            "or set LEADEXEC_DATA_DIR (or LEADEXEC_DATABASE_URL)."
        )
    return build_migrated(settings)


def _print(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data) if args.json else text)


# -- audit export ------------------------------------------------------------------------------


def cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    kind = "json" if args.json else (args.format or "csv")
    if kind not in ("csv", "json"):
        raise InvalidRequest("--format must be csv or json.")
    query = parse_query(
        {
            "since": args.since,
            "until": args.until or "",
            "kind": args.kind or "",
            "app": args.app or "",
            "user": args.user or "",
        }
    )
    services = _services(settings)
    batches = services.audit_trail.export(query)
    first = next(batches, None)  # read before any output: a refusal prints alone
    out: TextIO = sys.stdout
    count = 0
    if kind == "json":
        out.write("[")
    batch = first
    while batch:
        if kind == "csv":
            out.write(csv_lines(batch, header=count == 0))
            count += len(batch)
        else:
            for event in batch:
                out.write(("," if count else "") + "\n" + json.dumps(event_json(event)))
                count += 1
        batch = next(batches, None)
    if kind == "csv" and count == 0:
        out.write(csv_lines([], header=True))
    if kind == "json":
        out.write("\n]\n")
    out.flush()
    print(f"{count} event(s) exported.", file=sys.stderr)
    return 0


# -- keys --------------------------------------------------------------------------------------


def _key_line(view: KeyView) -> str:
    data = view.json()
    parts = [f"{data['kid']}  {data['alg']:<5}  {view.state:<8}"]
    for label, name in (("signs from", "activatesAt"), ("stops", "retiredAt"),
                        ("unpublished", "expiresAt")):  # fmt: skip
        if data[name]:
            parts.append(f"{label} {data[name]}")
    return "  ".join(parts)


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    views = _services(settings).key_rotation.list()
    _print(args, [v.json() for v in views], "\n".join(_key_line(v) for v in views) or "No keys.")
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    algs = tuple(args.alg) if args.alg else ALGORITHMS
    made = _services(settings).key_rotation.rotate(algs, delay=args.delay, actor="cli")
    text = "\n".join(
        f"{v.key.kid} ({v.key.alg}) published now; signs from {v.json()['activatesAt']}"
        for v in made
    )
    _print(args, [v.json() for v in made], text)
    return 0


def cmd_keys_retire(args: argparse.Namespace, settings: Settings) -> int:
    view = _services(settings).key_rotation.retire(args.kid, force=args.force, actor="cli")
    _print(args, view.json(), f"{view.key.kid} is no longer published.")
    return 0


# -- backup and restore ------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from leadexec_signin.storage.sql import backup

    report = backup.backup(
        backup.sqlite_file(settings.effective_database_url), Path(args.path), overwrite=args.force
    )
    text = (
        f"Backed up {report.users} user(s), {report.applications} application(s) and "
        f"{report.live_grants} live grant(s) to {report.path} ({report.bytes} bytes, schema "
        f"{report.revision}, {report.seconds:.2f} s)."
    )
    _print(args, report.json(), text)
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from leadexec_signin.storage.sql import backup

    database = backup.sqlite_file(settings.effective_database_url)
    report = backup.restore(Path(args.path), database)
    text = f"Restored {args.path} into {report.path} (schema {report.revision})."
    if report.replaced:
        text += f"\nThe database it replaced is kept as {report.replaced}."
    _print(args, report.json(), text)
    return 0


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], json_flag: JsonFlag
) -> None:
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    ex = audit.add_parser(
        "export",
        help="write matching audit events to standard output (CSV, or JSON with --json)",
        description="Newest first. Times are ISO 8601 (2026-12-01, 2026-12-01T09:30Z); no "
        "zone means UTC; a bare date as --until includes that whole day.",
    )
    ex.add_argument("--since", required=True, metavar="TIME", help="events at or after TIME")
    ex.add_argument("--until", metavar="TIME", help="events before TIME (default: now)")
    ex.add_argument("--kind", metavar="EVENT", help="one kind of event, e.g. signin.failed")
    ex.add_argument("--app", metavar="APP_ID", help="events of one application")
    ex.add_argument("--user", metavar="USER", help="events of one user (usr_... or email)")
    ex.add_argument("--format", metavar="csv|json", help="csv (default) or json")
    ex.add_argument("--json", action="store_true", help="the same as --format json")
    # What it prints is the export itself: nothing may follow it on standard output.
    ex.set_defaults(fn=cmd_audit_export, data_on_stdout=True)

    keys = sub.add_parser("keys", help="the signing keys (JWKS)").add_subparsers(
        dest="keys_command", required=True
    )
    json_flag(keys.add_parser("list", help="every signing key and its state")).set_defaults(
        fn=cmd_keys_list
    )
    rot = json_flag(
        keys.add_parser(
            "rotate",
            help="publish a new key now; it signs after the delay, the old one then stops",
        )
    )
    rot.add_argument(
        "--alg",
        action="append",
        metavar="|".join(ALGORITHMS),
        help="rotate this algorithm only; repeat for more (default: all three)",
    )
    rot.add_argument(
        "--delay",
        type=int,
        metavar="SECONDS",
        help="seconds before the new key signs (default LEADEXEC_KEY_ROTATION_DELAY, 3600)",
    )
    rot.set_defaults(fn=cmd_keys_rotate)
    ret = json_flag(keys.add_parser("retire", help="stop publishing a key that no longer signs"))
    ret.add_argument("kid", help="the key's kid (see keys list)")
    ret.add_argument(
        "--force",
        action="store_true",
        help="even if it still signs (when another key can) or its tokens are still valid",
    )
    ret.set_defaults(fn=cmd_keys_retire)

    bk = json_flag(sub.add_parser("backup", help="copy the SQLite database, online, to a file"))
    bk.add_argument("path", help="the backup file to write (a new file)")
    bk.add_argument("--force", action="store_true", help="replace PATH if it exists")
    bk.set_defaults(fn=cmd_backup)
    rs = json_flag(
        sub.add_parser(
            "restore",
            help="check a backup and install it as the SQLite database (servers stopped)",
        )
    )
    rs.add_argument("path", help="a file made by leadexec-signin backup")
    rs.set_defaults(fn=cmd_restore)
