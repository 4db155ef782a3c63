"""What every command reads from and prints to the terminal: its answer, as text or as JSON
with ``--json``, and a secret read from standard input."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

JsonFlag = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
# argparse has no public name for the object add_subparsers returns.
Subcommands = argparse._SubParsersAction


def with_json(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sp.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return sp


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=None if args.json else 2) if args.json else text)


def read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")
