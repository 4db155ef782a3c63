"""Live servers and one shared Chromium for the real-browser tests.

The identity provider, the sample partner site (registered origin) and a second partner site on
an unregistered origin each run under uvicorn in a background thread (``support.live``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xstatic.pkg.jquery
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from leadexec_signin.compose import build
from leadexec_signin.demo_partner import PartnerConfig, create_partner_app
from leadexec_signin.demo_partner.app import page_headers
from leadexec_signin.settings import Settings
from leadexec_signin.storage.sql.migrate import upgrade
from leadexec_signin.web.app import create_app
from support.axe import serve_axe
from support.live import CHROMIUM, CHROMIUM_ARGS, NO_FEDCM, SCREENSHOTS, LiveServer, Site

from . import pages


def suite_pages(site_holder: list[Site]) -> list[Route]:
    """``/t/NAME``: pages of the test suite on a partner origin, under the partner's policy."""

    async def page(request: Request) -> Response:
        site = site_holder[0]
        build = pages.PAGES.get(request.path_params["name"])
        if build is None:
            return Response("no such test page", status_code=404)
        html = build(site)
        return Response(html, media_type="text/html", headers=page_headers(site.idp, html))

    return [
        Route("/t/{name}", page),
        Mount("/vendor", StaticFiles(directory=xstatic.pkg.jquery.BASE_DIR)),
    ]


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("browser-idp")
    database = f"sqlite:///{data / 'idp.sqlite3'}"
    upgrade(database)
    # Ports first: the provider's issuer and the registered origins name them.
    idp, partner, evil = LiveServer(), LiveServer(), LiveServer()
    settings = Settings.from_env(
        {
            **{k: v for k, v in os.environ.items() if k.startswith("LEADEXEC_ARGON2")},
            # Operators without a second factor: the operator pages' own tests; the second
            # factor they need by default is tested in tests/web/test_operator_mfa.py.
            "LEADEXEC_OPERATOR_MFA": "off",
            "LEADEXEC_DATA_DIR": str(data),
            "LEADEXEC_DATABASE_URL": database,
            "LEADEXEC_ISSUER": idp.url,
        }
    )
    services = build(settings)
    localhost = f"http://localhost:{partner.port}"
    app_a, _ = services.registry.register(
        name="Acme CRM", origins=[partner.url, localhost], scopes="profile,email,account"
    )
    app_b, _ = services.registry.register(
        name="Beta Books", origins=[partner.url], scopes="profile"
    )
    for app_id in (app_a.id, app_b.id):
        services.operator.set_app_status(app_id, "approved")
    btn_a = services.registry.create_button(app_id=app_a.id, scopes="profile,email")
    btn_b = services.registry.create_button(app_id=app_b.id, scopes="profile", theme="dark")
    looks = {
        "dark": services.registry.create_button(
            app_id=app_a.id, scopes="profile,email", theme="dark"
        ),
        "small": services.registry.create_button(
            app_id=app_a.id, scopes="profile,email", size="small"
        ),
        "large": services.registry.create_button(
            app_id=app_a.id, scopes="profile,email", theme="dark", size="large"
        ),
    }
    site = Site(
        services=services,
        idp=idp.url,
        partner=partner.url,
        partner_localhost=localhost,
        evil=evil.url,
        app_a=app_a.id,
        app_b=app_b.id,
        btn_a=btn_a.id,
        btn_b=btn_b.id,
        buttons={k: b.id for k, b in looks.items()},
    )
    holder = [site]
    idp.start(create_app(services))
    for server in (partner, evil):
        config = PartnerConfig(provider_url=idp.url, app_id=app_a.id, btn_id=btn_a.id)
        server.start(create_partner_app(config, extra_routes=suite_pages(holder)))
    yield site
    for server in (partner, evil, idp):
        server.stop()
    services.close()


# Package scope: one browser for the whole browser suite, stopped as soon as its last test is
# done, because Playwright's sync API keeps an asyncio loop marked running on the main thread
# while it lives, and later tests calling asyncio.run() would fail.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def axe_url(node_modules: Path) -> Iterator[str]:
    """axe-core's URL (``support.axe``): a context compiles it once, however many pages."""
    server = serve_axe(node_modules)
    yield server.url + "/axe.min.js"
    server.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.set_default_timeout(10_000)
    # The fallback path: a browser without FedCM (headless Chromium shows its dialog only to
    # the DevTools protocol, tests/browser/test_fedcm.py), so the SDK uses its iframe and popup.
    context.add_init_script(NO_FEDCM)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture
def shot() -> Callable[..., Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(target: Page, name: str, **kwargs: object) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        target.screenshot(path=str(path), **kwargs)  # type: ignore[arg-type]
        return path

    return take
