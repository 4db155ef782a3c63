"""axe-core for the browser tests: served over HTTP with a long cache lifetime, so that
Chromium compiles its 560 KB once per browser context and reuses the compiled code on every
later page of that context (V8's code cache keeps the compiled code of a script loaded from its
HTTP cache). Injected from the file instead, it was compiled again on every page: about half of
an audited page's time."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from support.live import LiveServer

BLOCKING = ("serious", "critical")


def serve_axe(node_modules: Path) -> LiveServer:
    """A server of ``/axe.min.js`` (the npm lockfile's), started; stop it when done."""
    body = (node_modules / "axe-core" / "axe.min.js").read_bytes()

    async def script(request: Request) -> Response:
        return Response(
            body,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400, immutable"},
        )

    server = LiveServer()
    server.start(Starlette(routes=[Route("/axe.min.js", script)]))
    return server


def axe_violations(page: Page, axe: str | Path) -> list[dict[str, object]]:
    """axe-core's violations on the page as it is: ``axe`` is the script's URL (a server of
    ``serve_axe``; the page's context keeps it compiled) or its file."""
    if isinstance(axe, Path):
        page.add_script_tag(path=str(axe))
    else:
        page.add_script_tag(url=axe)
    found: list[dict[str, object]] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    return found
