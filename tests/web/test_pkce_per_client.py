"""PKCE per client: required by default (OAuth 2.1), optional for a confidential client
registered so (``apps create|client --pkce optional``, the console's checkbox), never for a
public one, and downgrade protection both ways at the token endpoint (RFC 9700 section
2.1.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from cli.test_cli import ok, run
from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.errors import InvalidRequest
from support.signin import sign_in
from web.oauth_flow import Pkce, auth_params, authorize, exchange, query_of, register


def without_pkce(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not k.startswith("code_challenge")}


def test_pkce_is_required_by_default(client: TestClient, world) -> None:
    c = register(world.services)
    sign_in(client)
    r = client.get("/oauth2/authorize", params=without_pkce(auth_params(c, Pkce())),
                   follow_redirects=False)  # fmt: skip
    answer = query_of(r.headers["location"])
    assert (answer["error"], answer["error_description"]) == (
        "invalid_request",
        "PKCE is required: send code_challenge with method S256.",
    )


def test_a_client_with_pkce_optional_signs_in_without_it(client: TestClient, world) -> None:
    c = register(world.services, pkce_optional=True)
    sign_in(client)
    got = authorize(client, without_pkce(auth_params(c, Pkce())))
    r = client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": got["code"],
              "redirect_uri": c.redirect_uri},
        auth=c.auth,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert {"access_token", "id_token", "refresh_token"} <= r.json().keys()


def test_a_verifier_for_a_code_issued_without_a_challenge_is_refused(
    client: TestClient, world
) -> None:
    """Downgrade: a client that sent a challenge the network stripped still sends its
    verifier; the code issued without a challenge must not be redeemed."""
    c = register(world.services, pkce_optional=True)
    sign_in(client)
    got = authorize(client, without_pkce(auth_params(c, Pkce())))
    r = exchange(client, c, got["code"], Pkce())
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert r.json() == {  # type: ignore[attr-defined]
        "error": "invalid_grant",
        "error_description": "code_verifier was sent for a code issued without PKCE.",
    }


def test_a_code_issued_with_a_challenge_needs_its_verifier_even_when_pkce_is_optional(
    client: TestClient, world
) -> None:
    c = register(world.services, pkce_optional=True)
    sign_in(client)
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce))
    r = exchange(client, c, got["code"], pkce, code_verifier="")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"  # type: ignore[attr-defined]
    got = authorize(client, auth_params(c, pkce))
    assert exchange(client, c, got["code"], pkce).status_code == 200  # type: ignore[attr-defined]


def test_a_method_without_a_challenge_is_still_refused(client: TestClient, world) -> None:
    c = register(world.services, pkce_optional=True)
    sign_in(client)
    params = {**without_pkce(auth_params(c, Pkce())), "code_challenge_method": "S256"}
    r = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    assert query_of(r.headers["location"])["error"] == "invalid_request"


def test_a_public_client_can_never_have_pkce_off(world) -> None:
    with pytest.raises(InvalidRequest, match="public client always uses PKCE"):
        world.services.registry.register(
            name="SPA", origins=[], scopes="profile", with_secret=False,
            client=ClientRegistration(redirect_uris=("https://spa.example/cb",),
                                      pkce_optional=True),
        )  # fmt: skip


def test_apps_create_and_client_take_pkce_optional(tmp_path: Path) -> None:
    created = ok(
        tmp_path, "apps", "create", "--name", "Certification RP", "--scopes", "profile,email",
        "--with-secret", "--redirect-uri", "https://rp.example/cb", "--pkce", "optional",
    )  # fmt: skip
    assert isinstance(created, dict) and created["pkce"] == "optional"
    again = ok(tmp_path, "apps", "client", str(created["appId"]),
               "--redirect-uri", "https://rp.example/cb")  # fmt: skip
    assert isinstance(again, dict) and again["pkce"] == "required"
    public = run(
        tmp_path, "apps", "create", "--name", "SPA", "--scopes", "profile", "--redirect-uri",
        "https://spa.example/cb", "--pkce", "optional", "--json",
    )  # fmt: skip
    assert (
        public.returncode != 0 and "public client always uses PKCE" in public.stdout + public.stderr
    )


def test_discovery_stays_truthful(client: TestClient) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["code_challenge_methods_supported"] == ["S256"]  # plain is never accepted
