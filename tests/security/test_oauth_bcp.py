"""RFC 9700 (OAuth 2.0 Security Best Current Practice) on the standard surface: the items the
authorization and token tests do not already prove one by one (docs/security.md maps each
item of the checklist to its test)."""

from __future__ import annotations

import pytest

from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.errors import InvalidRequest
from support.signin import ISSUER, sign_in
from web.oauth_flow import Pkce, auth_params, authorize, exchange, query_of, register


def test_mix_up_every_answer_names_its_issuer(client, world) -> None:
    """RFC 9700 section 4.4 / RFC 9207: success, error and form_post answers carry iss."""
    c = register(world.services)
    sign_in(client)
    ok = authorize(client, auth_params(c, Pkce()))
    bad = client.get(
        "/oauth2/authorize",
        params={**auth_params(c, Pkce()), "response_type": "token"},
        follow_redirects=False,
    )
    posted = client.get(
        "/oauth2/authorize",
        params={**auth_params(c, Pkce()), "response_mode": "form_post"},
        follow_redirects=False,
    )
    assert ok["iss"] == ISSUER
    assert query_of(bad.headers["location"])["iss"] == ISSUER
    assert f'name="iss" value="{ISSUER}"' in posted.text.replace("&#34;", '"')


def test_code_injection_a_code_is_bound_to_its_client_and_its_verifier(client, world) -> None:
    """RFC 9700 section 4.5: a stolen code is useless without the verifier of the session
    that asked for it, and to any other client."""
    victim, attacker = register(world.services), register(world.services)
    sign_in(client)
    pkce = Pkce()
    code = authorize(client, auth_params(victim, pkce))["code"]
    as_attacker = exchange(client, attacker, code, pkce)
    assert as_attacker.status_code == 400 and as_attacker.json()["error"] == "invalid_grant"
    code = authorize(client, auth_params(victim, pkce))["code"]
    injected = exchange(client, victim, code, Pkce())
    assert injected.status_code == 400 and injected.json()["error"] == "invalid_grant"


def test_pkce_downgrade_a_code_asked_with_s256_needs_its_verifier(client, world) -> None:
    """RFC 9700 section 4.8: the verifier cannot be left out once a challenge was sent."""
    c = register(world.services)
    sign_in(client)
    pkce = Pkce()
    code = authorize(client, auth_params(c, pkce))["code"]
    r = client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": c.redirect_uri},
        auth=c.auth,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_open_redirect_an_error_for_an_unregistered_uri_is_never_redirected(client, world) -> None:
    """RFC 9700 section 4.11: even an error that would normally go back to the client stays
    on our page when the redirect URI is not registered."""
    c = register(world.services)
    params = {**auth_params(c, Pkce()), "response_type": "token",
              "redirect_uri": "https://evil.example/cb"}  # fmt: skip
    r = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.parametrize(
    "uri",
    [
        "https://rp.example/cb#fragment",
        "https://*.rp.example/cb",
        "http://rp.example/cb",
        "javascript:alert(1)",
        "https://good.example@evil.example/cb",
    ],
    ids=["a fragment", "a wildcard host", "plain http off loopback", "javascript", "userinfo"],
)
def test_redirect_uris_with_fragments_wildcards_or_tricks_cannot_be_registered(world, uri) -> None:
    """RFC 9700 section 4.1.3: exact matching of what was registered, and nothing that could
    be read two ways is registered at all."""
    with pytest.raises(InvalidRequest):
        world.services.registry.register(
            name="Bad", origins=[], scopes="profile", with_secret=True,
            client=ClientRegistration(redirect_uris=(uri,)),
        )  # fmt: skip


def test_token_leakage_no_page_of_the_flow_sends_a_cross_site_referer(client, world) -> None:
    """RFC 9700 section 4.2: the redirect with the code and the pages on the way set a
    Referrer-Policy that keeps their addresses (and what the next page got) to ourselves."""
    c = register(world.services)
    login = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    assert login.headers["referrer-policy"] == "no-referrer"
    sign_in(client)
    consent = client.get("/oauth2/authorize", params=auth_params(c, Pkce()))
    assert consent.headers["referrer-policy"] == "same-origin"
    authorize(client, auth_params(c, Pkce()))
    back = client.get("/oauth2/authorize", params=auth_params(c, Pkce()), follow_redirects=False)
    assert "code=" in back.headers["location"]
    assert back.headers["referrer-policy"] == "no-referrer"
    assert back.headers["cache-control"] == "no-store"


def test_clickjacking_the_consent_dialog_cannot_be_framed(client, world) -> None:
    """RFC 9700 section 4.16."""
    c = register(world.services)
    sign_in(client)
    page = client.get("/oauth2/authorize", params=auth_params(c, Pkce()))
    assert 'value="allow"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
