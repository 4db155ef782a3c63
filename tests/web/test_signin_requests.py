"""``/signin/authorize`` and ``/signin/immediate`` with missing, malformed and hostile input."""

from __future__ import annotations

import pytest

from support.signin import PARTNER, result_of, sign_in


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"btnId": "btn_x"},
        {"btnId": "btn_x", "origin": ""},
        {"btnId": "btn_x", "origin": "null"},
        {"btnId": "btn_x", "origin": "HTTP://127.0.0.1:9000"},
        {"btnId": "btn_x", "origin": "http://127.0.0.1:9000/"},
        {"btnId": "btn_x", "origin": "http://127.0.0.1:9000; script-src *"},
        {"btnId": "btn_x", "origin": "javascript:alert(1)"},
    ],
    ids=[
        "no parameters",
        "no origin",
        "an empty origin",
        "the null origin",
        "an uppercase scheme",
        "a trailing slash",
        "a CSP injection",
        "a javascript url",
    ],
)
def test_popup_without_a_usable_origin_shows_an_error_and_posts_nothing(client, params) -> None:
    r = client.get("/signin/authorize", params=params)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "le-result" not in r.text and "invalid_request" in r.text


@pytest.mark.parametrize(
    ("btn_id", "state", "code"),
    [
        ("", "s", "invalid_button"),
        ("btn_short", "s", "invalid_button"),
        ("btn_<script>alert(1)</script>xxxxxxxxxx", "s", "invalid_button"),
        ("VALID", "x" * 257, "server_error"),
        ("VALID", "bad state with spaces", "server_error"),
        ("VALID", "\u00e9t\u00e9", "server_error"),
    ],
    ids=[
        "an empty btnId",
        "a short btnId",
        "markup in btnId",
        "an oversized state",
        "spaces in state",
        "non-ascii state",
    ],
)
def test_popup_refuses_malformed_parameters(client, world, btn_id, state, code) -> None:
    btn = world.btn_id if btn_id == "VALID" else btn_id
    r = client.get("/signin/authorize", params={"btnId": btn, "origin": PARTNER, "state": state})
    assert r.status_code == 400  # a refusal, still posted to the page
    result = result_of(r.text)["result"]
    assert (result["valid"], result["error"], result["refreshToken"]) == (False, code, None)
    if code == "server_error":  # the documented list has no invalid_request: the message names it
        assert result["errorMessage"].endswith("(invalid_request)")
    assert "<script>alert(1)" not in r.text


def test_popup_refuses_repeated_parameters(client, world) -> None:
    r = client.get(f"/signin/authorize?btnId={world.btn_id}&btnId={world.btn_id}&origin={PARTNER}")
    assert r.status_code == 400 and "more than once" in r.text


def test_popup_accepts_the_lowercased_attribute_name(client, world) -> None:
    sign_in(client)
    r = client.get("/signin/authorize", params={"btnid": world.btn_id, "origin": PARTNER})
    assert r.status_code == 200 and 'value="allow"' in r.text


def test_consent_post_with_unknown_decision_is_refused(client, world) -> None:
    sign_in(client)
    page = client.get("/signin/authorize", params={"btnId": world.btn_id, "origin": PARTNER})
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        "/signin/authorize",
        data={"csrf": csrf, "btnId": world.btn_id, "origin": PARTNER, "decision": "maybe"},
    )
    assert r.status_code == 400 and "Choose Allow or Cancel." in r.text
    assert world.services.accounts.connected_apps(world.user_id) == []


def test_consent_post_when_signed_out_goes_to_sign_in(client, world) -> None:
    page = client.get("/account/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(
        "/signin/authorize",
        data={"csrf": csrf, "btnId": world.btn_id, "origin": PARTNER, "decision": "allow"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/account/login?next=")


@pytest.mark.parametrize(
    "origin",
    [
        "",
        "null",
        "http://127.0.0.1:9000 'unsafe-inline'",
        "HTTP://127.0.0.1:9000",
        "http://127.0.0.1:9000\n",
    ],
    ids=["no origin", "null", "a CSP injection", "uppercase", "a trailing newline"],
)
def test_immediate_with_a_bad_origin_cannot_be_framed(client, world, origin) -> None:
    r = client.get("/signin/immediate", params={"btnId": world.btn_id, "origin": origin})
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "le-result" not in r.text


def test_immediate_with_a_malformed_button_fails_quietly(client) -> None:
    r = client.get("/signin/immediate", params={"btnId": "nope", "origin": PARTNER, "state": "s"})
    result = result_of(r.text)["result"]
    assert result["error"] == "immediate_failed" and result["immediate"] is True
    assert "invalid_button" in result["errorMessage"]


def test_button_config_is_public_and_refuses_unknown_ids(client, world) -> None:
    r = client.get(f"/signin/buttons/{world.btn_id}")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert r.json()["appName"] == "Acme CRM" and r.json()["scopes"] == ["profile", "email"]
    missing = client.get("/signin/buttons/" + "b" * 200)
    assert (missing.status_code, missing.json()["error"]) == (404, "invalid_button")


def test_sdk_files_are_cacheable_and_revalidate(client) -> None:
    r = client.get("/signin/button.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    etag = r.headers["etag"]
    again = client.get("/signin/button.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert client.get("/signin/button.css").headers["content-type"].startswith("text/css")


def test_result_page_json_cannot_break_out_of_its_script(client, world) -> None:
    state = "</script><script>alert(1)</script>"
    r = client.get(
        "/signin/authorize", params={"btnId": "btn_" + "q" * 22, "origin": PARTNER, "state": state}
    )
    assert "<script>alert(1)" not in r.text
