"""Helpers of the hostile suite: clients with lowered limits, a rate limiter that follows the
test clock, and assertions that name the exact refusal of each surface."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import limits.storage.memory
import limits.strategies
import pytest
from starlette.testclient import TestClient

from conftest import ISSUER, authorize, sign_in
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.provider import Provider
from leadexec_signin.settings import Settings
from leadexec_signin.storage import ratelimit
from leadexec_signin.web.app import build_provider, create_app

SEED_TOKEN_KEYS = {"valid", "refreshToken", "authToken", "expireDate", "errorMessage", "error"}
_CODE = re.compile(r"Error code: <code>([a-z_]+)</code>")


def page_code(html: str) -> str:
    """The machine code an HTML error page shows (templates/error.html)."""
    found = _CODE.search(html)
    assert found, "page shows no error code"
    return found.group(1)


def refused_page(r: object, status: int, code: str) -> None:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    assert page_code(r.text) == code  # type: ignore[attr-defined]


def refused_seed(r: object, status: int, code: str) -> None:
    """The seed's JSON refusal: ``{valid: false, errorMessage, error}`` and no token."""
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/json"  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["valid"] is False and body["error"] == code and body["errorMessage"]
    assert body.get("authToken") is None and body.get("refreshToken") is None


def refused_bearer(r: object, status: int, code: str) -> None:
    """RFC 6750 refusal of the LeadExec API: JSON body and ``WWW-Authenticate``."""
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.json()["error"] == code  # type: ignore[attr-defined]
    assert f'error="{code}"' in r.headers["www-authenticate"]  # type: ignore[attr-defined]


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch, clock: FrozenClock) -> FrozenClock:
    """The ``limits`` library reads ``time.time()``; point it at the test clock so a window can
    be shown to end without sleeping through it."""

    def now() -> float:
        return clock.now().timestamp()

    fake_time = SimpleNamespace(time=now, monotonic=now, sleep=lambda _s: None)
    for module in (limits.storage.memory, limits.strategies, ratelimit):
        monkeypatch.setattr(module, "time", fake_time)
    return clock


@pytest.fixture
def make_client(
    settings: Settings, clock: FrozenClock
) -> Iterator[Callable[..., tuple[TestClient, Provider]]]:
    """A client over its own provider built from changed settings (lowered limits, https)."""
    opened: list[tuple[TestClient, Provider]] = []

    def make(*, base_url: str = ISSUER, **changes: object) -> tuple[TestClient, Provider]:
        changed = settings.with_changes(**changes)
        provider = build_provider(changed, clock)
        client = TestClient(create_app(changed, provider=provider), base_url=base_url)
        client.__enter__()
        opened.append((client, provider))
        return client, provider

    yield make
    for client, provider in opened:
        client.__exit__(None, None, None)
        provider.storage.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def granted(client: TestClient, world: object) -> dict[str, object]:
    """Ann is signed in and has already allowed the world's button from ``PARTNER``: the
    silent check and the popup would hand tokens to the registered origin at once, so any
    refusal seen after this is the check under test, not a missing grant."""
    sign_in(client)
    result = authorize(client, world.btn_id)  # type: ignore[attr-defined]
    assert result["valid"] is True and result["refreshToken"]
    return result
