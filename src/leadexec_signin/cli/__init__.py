"""``leadexec-signin``: serve, migrate, and administer users, applications and buttons.

The command line operators use (docs/operations.md). Secrets (passwords) are read from
standard input, never from arguments, so they stay out of shell history and ``ps``.

``arguments`` builds the parser from one module per noun (``users``, ``apps``, ``buttons``,
``grants``, ``agents``, ``operations`` for audit, keys and backups) and ``serve`` (the server,
the demo and migrations); this module runs the chosen command and prints its refusal as one line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from leadexec_signin.cli.arguments import parser
from leadexec_signin.core.errors import SigninError
from leadexec_signin.logs import configure_logging
from leadexec_signin.settings import Settings

__all__ = ["main", "parser"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings)
    try:
        code = int(args.fn(args, settings))
        quiet = getattr(args, "json", False) or getattr(args, "data_on_stdout", False)
        if getattr(args, "names_database", True) and not quiet:
            # Said after the answer, so a command run from the wrong folder is noticed.
            print(f"(database: {settings.database_label})")
        return code
    except SigninError as exc:
        body = {"error": exc.code, "errorMessage": exc.description}
        if getattr(args, "json", False):
            print(json.dumps(body))
        else:
            print(f"error: {exc.description} ({exc.code})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
