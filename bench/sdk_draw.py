"""The SDK in a real browser: from the script starting to run to the button drawn, read from
the SDK's own Performance API marks (``leadexec:start``, ``leadexec:rendered``), and the bytes
the SDK's files cost on the wire. Run on demand:

    .venv/bin/python bench/sdk_draw.py [--loads 30]

Starts ``leadexec-signin demo`` on free ports in a scratch directory, loads the sample partner
page in Debian's Chromium (headless, through Playwright) with a cold cache (a new context per
load) and a warm one (reloads in one context), and writes the medians into
docs/performance.md between the ``sdk`` markers.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- sdk:start -->", "<!-- sdk:end -->"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MEASURE = """() => {
  const m = n => performance.getEntriesByName(n)[0].startTime;
  const size = end => (performance.getEntriesByType("resource")
    .find(r => r.name.endsWith(end)) || {}).transferSize || 0;
  return {draw: m("leadexec:drawn") - m("leadexec:start"),
          settings: m("leadexec:rendered") - m("leadexec:start"),
          js: size("/signin/button.js"), css: size("/signin/button.css")};
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo(data: Path) -> tuple[subprocess.Popen[str], str]:
    port, partner = free_port(), free_port()
    env = {**os.environ, "LEADEXEC_DATA_DIR": str(data), "LEADEXEC_LOG_LEVEL": "WARNING"}
    cli = str(ROOT / ".venv" / "bin" / "leadexec-signin")
    process = subprocess.Popen(
        [cli, "demo", "--port", str(port), "--partner-port", str(partner)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", partner), timeout=0.5):
                return process, f"http://127.0.0.1:{partner}/"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the demo did not start")


def drawn(page: Page, url: str) -> dict[str, float]:
    page.goto(url)
    page.wait_for_selector("#leAppButton[data-le-state=ready]")
    return page.evaluate(MEASURE)  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_demo(Path(scratch) / "data")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
                cold = []
                for _ in range(args.loads):
                    context = browser.new_context()
                    cold.append(drawn(context.new_page(), url))
                    context.close()
                context = browser.new_context()
                page = context.new_page()
                drawn(page, url)
                warm = [drawn(page, url) for _ in range(args.loads)]
                browser.close()
        finally:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(15)
    wire = cold[-1]["js"] + cold[-1]["css"]

    def row(name: str, runs: list[dict[str, float]]) -> str:
        cells = [
            f"{statistics.median(r[k] for r in runs):.1f} | {max(r[k] for r in runs):.1f}"
            for k in ("draw", "settings")
        ]
        return f"| {name} | {' | '.join(cells)} |\n"

    table = (
        f"{START}\n"
        f"From the script starting to the button drawn (`leadexec:drawn`: styled from its markup "
        f"and answering clicks) and to its fetched settings applied (`leadexec:rendered`), "
        f"Performance API marks, {args.loads} loads, Chromium headless, `bench/sdk_draw.py`, "
        f"{time.strftime('%Y-%m-%d')}:\n\n"
        "| cache | drawn, median ms | max ms | settings applied, median ms | max ms |\n"
        "|---|---:|---:|---:|---:|\n"
        + row("cold (new context per load)", cold)
        + row("warm (reload)", warm)
        + "\n"
        f"`button.js` + `button.css` on the wire (cold load, compressed, with headers): "
        f"{wire:,.0f} bytes.\n{END}"
    )
    text = DOC.read_text() if DOC.exists() else ""
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), table, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## The SDK in the browser\n\n" + table + "\n"
    DOC.write_text(text)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
