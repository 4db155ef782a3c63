"""The command line run inside the test's process: ``main()`` with this call's environment,
standard input, output and error, and its exit status, as ``subprocess.run`` would give them.

A real process costs about a second of CPU (its imports); this costs what the command does.
What only a real process shows (the ``python -m`` entry point, a signal, a server's first line)
stays tested with one, in ``tests/cli/`` and ``tests/production/``.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

from leadexec_signin.cli import main


def run_in_process(
    args: Sequence[str], env: Mapping[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``leadexec-signin ARGS`` with exactly ``env`` as its environment."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    # The command configures logging as in its own process (to standard error, its level):
    # on a root logger without the test run's handlers, which are put back afterwards.
    kept_handlers, kept_level = root.handlers[:], root.level
    root.handlers = []
    try:
        with (
            mock.patch.dict(os.environ, env, clear=True),
            mock.patch.object(sys, "stdin", io.StringIO(stdin)),
            redirect_stdout(out),
            redirect_stderr(err),
        ):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's --help and usage errors
                if isinstance(exc.code, str):
                    err.write(exc.code + "\n")
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except Exception:  # what the interpreter does with an uncaught exception
                traceback.print_exc(file=err)
                code = 1
    finally:
        root.handlers = kept_handlers
        root.setLevel(kept_level)
    return subprocess.CompletedProcess(
        ["leadexec-signin", *args], code, out.getvalue(), err.getvalue()
    )
