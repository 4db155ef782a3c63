"""Live servers for the real-browser tests: uvicorn in a background thread on a socket bound
to port 0 and put into listening state before the thread starts, so a browser can connect the
moment a fixture returns (the kernel queues the connection until uvicorn accepts it: no
polling, no sleeping); and what a test needs to know about the seeded provider."""

from __future__ import annotations

import itertools
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from leadexec_signin.compose import Services
from support.signin import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_FEDCM = "delete window.IdentityCredential;"


class LiveServer:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port: int = self.sock.getsockname()[1]
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, app: ASGIApp) -> None:
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(10)
        self.sock.close()


@dataclass
class Site:
    """Everything a test needs to know about the servers and the registered records."""

    services: Services
    idp: str
    partner: str  # registered for apps A and B
    partner_localhost: str  # the same server as another site (registered for app A)
    evil: str  # a second partner origin, registered for nothing
    app_a: str
    app_b: str
    btn_a: str
    btn_b: str
    buttons: dict[str, str] = field(default_factory=dict)
    users: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def idp_host(self) -> str:
        return self.idp.removeprefix("http://")

    def new_user(self, name: str = "Bea Browser") -> str:
        """A fresh account per test: no grant or session leaks from one test to the next."""
        email = f"user{next(self.users)}@example.com"
        self.services.accounts.create_user(
            email=email, name=name, password=PASSWORD, company="Browser Leads", plan="Pro"
        )
        return email
