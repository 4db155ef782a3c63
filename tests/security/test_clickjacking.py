"""Clickjacking (RFC 6819 section 4.4.1.9, RFC 9700 section 4.16): every page a person can
click refuses to be framed with both CSP ``frame-ancestors 'none'`` and ``X-Frame-Options``.
The silent iframe shows nothing and takes no click; it alone may be framed, and only by the
origin it answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from security.test_origin_checks import frame_ancestors
from support.signin import PARTNER, decide, open_popup, sign_in


def login_page(client: TestClient, world) -> object:
    return client.get("/account/login")


def logout_page(client: TestClient, world) -> object:
    sign_in(client)
    return client.get("/account/logout")


def apps_page(client: TestClient, world) -> object:
    sign_in(client)
    return client.get("/account/apps")


def consent_page(client: TestClient, world) -> object:
    sign_in(client)
    r = open_popup(client, world.btn_id)
    assert 'value="allow"' in r.text  # type: ignore[attr-defined]
    return r


def result_page(client: TestClient, world) -> object:
    sign_in(client)
    btn_id = world.button("profile")
    r = open_popup(client, btn_id)
    return decide(client, r.text, "allow", btn_id)  # type: ignore[attr-defined]


def error_page(client: TestClient, world) -> object:
    return client.get("/signin/authorize", params={"btnId": world.btn_id, "origin": "null"})


def popup_login_redirect_target(client: TestClient, world) -> object:
    r = open_popup(client, world.btn_id)
    assert r.status_code == 303  # type: ignore[attr-defined]
    return client.get(r.headers["location"])  # type: ignore[attr-defined]


PAGES: dict[str, Callable[[TestClient, object], object]] = {
    "the sign-in page": login_page,
    "the sign-in page the popup sends to": popup_login_redirect_target,
    "the sign-out page": logout_page,
    "the connected-applications page": apps_page,
    "the consent dialog": consent_page,
    "the popup's result page": result_page,
    "an error page": error_page,
}


@pytest.mark.parametrize("make", PAGES.values(), ids=PAGES.keys())
def test_pages_a_person_clicks_refuse_every_frame(client: TestClient, world, make) -> None:
    r = make(client, world)
    assert r.status_code in (200, 400), r.text
    assert r.headers["content-type"].startswith("text/html")
    assert frame_ancestors(r) == "'none'"
    assert r.headers["x-frame-options"] == "DENY"


def test_the_silent_iframe_may_be_framed_by_the_registered_origin_only(
    client: TestClient, world, granted
) -> None:
    r = client.get(
        "/signin/immediate", params={"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
    )
    assert r.status_code == 200
    assert frame_ancestors(r) == PARTNER
    # X-Frame-Options cannot name an origin; sending DENY would break the one allowed frame.
    assert "x-frame-options" not in r.headers
    # It shows no button: a frame with nothing to click cannot be clickjacked.
    assert "<form" not in r.text and "<button" not in r.text


def test_the_silent_iframe_never_shows_the_consent_dialog(client: TestClient, world) -> None:
    sign_in(client)  # signed in but never consented: the popup would ask
    r = client.get(
        "/signin/immediate", params={"btnId": world.btn_id, "origin": PARTNER, "state": "s"}
    )
    # immediate_failed, still posted to the page; the everyday "a click is needed" answers
    # 200 so the partner's console shows no error (docs/sdk.md)
    assert r.status_code == 200
    assert 'value="allow"' not in r.text and "<form" not in r.text
    assert "immediate_failed" in r.text
