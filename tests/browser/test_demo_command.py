"""``leadexec-signin demo`` as the README runs it: one process, two origins, seeded, and a person
signing in on the partner site with the printed demo credentials."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from leadexec_signin.demo import DEMO_EMAIL, DEMO_PASSWORD, OPERATOR_EMAIL, OPERATOR_PASSWORD
from leadexec_signin.demo_partner import snippet

from .popup import decide, events, open_popup

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Demo:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.port, self.partner_port = free_port(), free_port()
        env = {**os.environ, "LEADEXEC_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
        env.pop("LEADEXEC_DATABASE_URL", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadexec_signin.cli",
                "demo",
                "--port",
                str(self.port),
                "--partner-port",
                str(self.partner_port),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []

    def wait_until_serving(self) -> None:
        """Read the output until both servers say they listen (no polling, no sleeping)."""
        stdout = self.process.stdout
        assert stdout is not None
        running = 0
        for line in stdout:
            self.output.append(line)
            if "Uvicorn running on" in line:
                running += 1
                if running == 2:
                    # Keep draining, so the access log can never fill the pipe and block it.
                    threading.Thread(target=self.output.extend, args=(stdout,), daemon=True).start()
                    return
        raise AssertionError("demo exited early:\n" + "".join(self.output))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "data")
    try:
        running.wait_until_serving()
        yield running
    finally:
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            running.process.wait(15)


def test_demo_serves_the_provider_and_the_partner_site_seeded(demo: Demo, page: Page) -> None:
    printed = "".join(demo.output)
    assert f"Identity provider: http://127.0.0.1:{demo.port}" in printed
    assert f"Partner site:      http://127.0.0.1:{demo.partner_port}" in printed
    assert f"{DEMO_EMAIL} / {DEMO_PASSWORD}" in printed
    # The console and the operator page are named, with an account that opens each.
    assert f"http://127.0.0.1:{demo.port}/developers" in printed
    assert f"/admin   as {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}" in printed
    assert f"Database:          {(demo.data / 'leadexec-signin.sqlite3').resolve()}" in printed
    btn_id = re.search(r"btnId (btn_\S+)", printed).group(1)  # type: ignore[union-attr]
    # Without SMTP the demo's mail is on its outbox page, which the demo turns on.
    assert f"(mail outbox: http://127.0.0.1:{demo.port}/dev/outbox)" in printed
    outbox = page.goto(f"http://127.0.0.1:{demo.port}/dev/outbox")
    assert outbox is not None and outbox.status == 200

    response = page.goto(f"http://127.0.0.1:{demo.partner_port}/")
    assert response is not None and response.status == 200
    html = response.text()
    assert snippet(f"127.0.0.1:{demo.port}") in html
    # The seed's snippet with the real host filled in, and the seed's markup.
    assert f"+ '127.0.0.1:{demo.port}/signin/button.js';" in html
    assert f"styles = styles + '127.0.0.1:{demo.port}/signin/button.css'" in html
    assert page.get_attribute("#leAppButton", "data-btnid") == btn_id
    assert events(page, 1)[0]["error"] == "immediate_failed"

    popup = open_popup(page)
    popup.get_by_label("Email").fill(DEMO_EMAIL)
    popup.get_by_label("Password").fill(DEMO_PASSWORD)
    popup.get_by_role("button", name="Sign in", exact=True).click()
    decide(popup, "Allow")
    page.locator("#profile").wait_for()
    assert page.inner_text("#user-name") == "Dana Demo"

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(15) == 0


def test_the_banner_names_the_command_line_of_this_demo_and_its_mail_reaches_the_outbox(
    demo: Demo, page: Page
) -> None:
    """The printed lines, run as printed from another folder, find the demo's database; an
    operator's decision made there mails the owner on the demo's own outbox page."""
    printed = "".join(demo.output)
    lines = printed.splitlines()
    start = lines.index("  Command line, against this demo (its mail goes to the outbox above):")
    export, listing = (line.strip() for line in lines[start + 1 : start + 3])
    assert export.startswith(f"export LEADEXEC_DATA_DIR={demo.data.resolve()} ")
    assert f"LEADEXEC_ISSUER=http://127.0.0.1:{demo.port}" in export
    assert listing.endswith("leadexec-signin apps list")
    app_id = re.search(r"appId (app_\S+)", printed).group(1)  # type: ignore[union-attr]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADEXEC_")}

    def run(args: str) -> str:
        done = subprocess.run(
            ["bash", "-c", f"{export} && {listing.removesuffix(' apps list')} {args}"],
            capture_output=True, text=True, env=env, cwd="/", timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert app_id in run("apps list")
    run(f"apps suspend {app_id} --json")
    run(f"apps reinstate {app_id} --json")
    page.goto(f"http://127.0.0.1:{demo.port}/dev/outbox")
    assert page.locator("h2").all_inner_texts()[:2] == [
        "Acme CRM (demo) is reinstated on LeadExec Sign-In",
        "Acme CRM (demo) is suspended on LeadExec Sign-In",
    ]
