"""``leadexec-signin serve`` in a subprocess, started the way operators start it: what the
hostile suite's ``live_idp`` fixture hands its tests, and how it gets tokens over HTTP."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from leadexec_signin.background import tls
from support.signin import PASSWORD, csrf_of, result_of


@dataclass
class LiveIdp:
    """``leadexec-signin serve`` in a subprocess on a free port, over a seeded SQLite file."""

    url: str
    log: Path
    database_url: str
    app_id: str
    btn_id: str
    app_secret: str
    secret_app_id: str
    refresh_token: str
    access_token: str
    settings_token: str


def free_port() -> int:
    # The port is released just before the server binds it; a collision fails loudly at start.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1, verify=tls()).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"server never answered:\n{log.read_text()[-3000:]}")


def tokens_over_http(url: str, btn_id: str, origin: str) -> dict[str, object]:
    with httpx.Client(base_url=url, follow_redirects=False, timeout=10, verify=tls()) as c:
        page = c.get("/account/login")
        signed = c.post(
            "/account/login",
            data={"csrf": csrf_of(page.text), "email": "live@example.com", "password": PASSWORD},
        )
        assert signed.status_code == 303, signed.text
        r = c.get("/signin/authorize", params={"btnId": btn_id, "origin": origin, "state": "s"})
        if 'value="allow"' in r.text:
            scopes = re.search(r'name="scopes" value="([^"]*)"', r.text)
            assert scopes
            r = c.post(
                "/signin/authorize",
                data={
                    "csrf": csrf_of(r.text),
                    "btnId": btn_id,
                    "origin": origin,
                    "state": "s",
                    "scopes": scopes.group(1),
                    "decision": "allow",
                },
            )
        return result_of(r.text)["result"]  # type: ignore[return-value]
