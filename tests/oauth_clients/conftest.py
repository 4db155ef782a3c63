"""The JavaScript OAuth 2.1 / OpenID Connect libraries partners use, against a live provider.

The provider, Chromium and the screenshot fixture are the browser suite's (``tests/browser``);
Node and the libraries are ``support.node``'s (``npm ci`` once per lockfile, the
``node_modules`` fixture of the root ``conftest.py``).
"""

from __future__ import annotations

import pytest

from browser.conftest import (  # noqa: F401 - fixtures of this package too
    browser,
    context,
    page,
    playwright,
    shot,
    site,
)
from support.live import Site


@pytest.fixture(scope="package")
def provider(site: Site) -> Site:  # noqa: F811 - the imported fixture
    """The browser suite's live provider after its start-up writes (signing keys for ID
    tokens), which uvicorn's lifespan does in production and the live servers skip."""
    site.services.prepare()
    return site
