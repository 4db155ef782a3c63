"""The command line's parser: the top level, then each noun's module adds its commands."""

from __future__ import annotations

import argparse

import leadexec_signin.cli.admin_tokens as admin_tokens
import leadexec_signin.cli.agents as agents
import leadexec_signin.cli.apps as apps
import leadexec_signin.cli.buttons as buttons
import leadexec_signin.cli.grants as grants
import leadexec_signin.cli.operations as operations
import leadexec_signin.cli.serve as serve
import leadexec_signin.cli.users as users
from leadexec_signin.cli.terminal import with_json

DESCRIPTION = "``leadexec-signin``: serve, migrate, and administer users, applications and buttons."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadexec-signin", description=DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True)
    serve.add_parsers(sub)
    users.add_parsers(sub, with_json)
    apps.add_parsers(sub, with_json)
    buttons.add_parsers(sub, with_json)
    grants.add_parsers(sub, with_json)
    agents.add_parsers(sub, with_json)
    admin_tokens.add_parsers(sub, with_json)
    # The operators' commands: audit export, keys, backup and restore.
    operations.add_parsers(sub, with_json)
    return p
