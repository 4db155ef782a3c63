"""Authlib, an independent OAuth 2.1 / OpenID Connect client, against a live provider: the
partner example of docs/oauth.md ("Authlib (Python)") is run as written, with only its four
settings pointed at the test server. Discovery, PKCE, state and nonce, the code exchange, the
ID token checked against the JWKS, refresh, UserInfo, introspection as a resource server calls
it, and revocation ending it all; on every storage backend."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import KeySet

from leadexec_signin.compose import Services, build
from leadexec_signin.core.clients import ClientRegistration
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.settings import Settings
from leadexec_signin.web.app import create_app
from oauth_browser import sign_in_and_consent
from support.live import LiveServer
from support.signin import PASSWORD

# Authlib's client against live servers, as the guide runs it: out of the fast tier.
pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "oauth.md"
REDIRECT_URI = "https://rp.example/cb"
EMAIL = "ann@example.com"


def example_code() -> str:
    """The first Python block under the "Authlib (Python)" heading of docs/oauth.md."""
    text = DOC.read_text()
    section = text.split("\n## Authlib (Python)\n", 1)[1]
    found = re.search(r"^```python\n(.*?)^```$", section, re.S | re.M)
    assert found, "docs/oauth.md has no Python block under Authlib (Python)"
    return found.group(1)


@dataclass
class Provider:
    url: str
    services: Services
    user_id: str

    def client(self, auth_method: str, **more: object) -> tuple[str, str]:
        app, secret = self.services.registry.register(
            name=f"Authlib RP {auth_method}",
            origins=[],
            scopes="profile,email",
            with_secret=True,
            client=ClientRegistration(
                redirect_uris=(REDIRECT_URI,), auth_method=auth_method, **more
            ),  # type: ignore[arg-type]
        )
        self.services.operator.set_app_status(app.id, "approved")
        assert secret
        return app.id, secret


@pytest.fixture
def provider(settings: Settings, clock: FrozenClock) -> Iterator[Provider]:
    """The provider under uvicorn on a port of its own, its issuer that address (a client
    library takes every endpoint from discovery, so the issuer must be where it is served)."""
    server = LiveServer()
    services = build(settings.with_changes(issuer=server.url), clock)
    services.prepare()
    user = services.accounts.create_user(email=EMAIL, name="Ann Example", password=PASSWORD)
    server.start(create_app(services))
    try:
        yield Provider(server.url, services, user.id)
    finally:
        server.stop()
        services.close()


def partner(provider: Provider, auth_method: str, **more: object) -> dict[str, object]:
    """The example as a partner would paste it, with its settings filled in."""
    client_id, secret = provider.client(auth_method, **more)
    namespace: dict[str, object] = {"__name__": "authlib_example"}
    exec(compile(example_code(), str(DOC), "exec"), namespace)  # noqa: S102
    namespace.update(
        ISSUER=provider.url, CLIENT_ID=client_id, CLIENT_SECRET=secret, AUTH_METHOD=auth_method
    )
    assert namespace["REDIRECT_URI"] == REDIRECT_URI
    return namespace


def jwks(provider: Provider) -> dict[str, object]:
    return httpx.get(f"{provider.url}/oauth2/jwks").json()


def user_signs_in(provider: Provider, url: str) -> str:
    """The user's browser: from the authorization URL to the callback URL."""
    with httpx.Client(base_url=provider.url, timeout=10) as browser:
        return sign_in_and_consent(browser, url, EMAIL, PASSWORD)


@pytest.mark.parametrize(
    "auth_method",
    ["client_secret_basic", "client_secret_post"],
    ids=["a client_secret_basic client", "a client_secret_post client"],
)
def test_the_authlib_example_signs_in_refreshes_and_signs_out(
    provider: Provider, auth_method: str
) -> None:
    ex = partner(provider, auth_method)
    client_id = ex["CLIENT_ID"]

    url, saved = ex["begin_sign_in"]()  # type: ignore[operator]
    assert url.startswith(f"{provider.url}/oauth2/authorize?")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["state"] == saved["state"] and asked["nonce"] == saved["nonce"]
    assert "code_verifier" not in asked

    callback = user_signs_in(provider, url)
    assert callback.startswith(REDIRECT_URI + "?")
    token, claims = ex["finish_sign_in"](callback, saved)  # type: ignore[operator]

    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert set(token["scope"].split()) == {"openid", "offline_access", "profile", "email"}
    assert claims["iss"] == provider.url and claims["aud"] == client_id
    assert claims["sub"] == provider.user_id and claims["nonce"] == saved["nonce"]
    assert claims["email"] == EMAIL and claims["name"] == "Ann Example"

    assert ex["user_info"](token) == {  # type: ignore[operator]
        "sub": provider.user_id,
        "name": "Ann Example",
        "email": EMAIL,
        "email_verified": True,
        "amr": ["pwd"],  # how the user signed in, as the ID token says
        "acr": "urn:leadexec:acr:1fa",
    }
    seen = ex["check_access_token"](token["access_token"])  # type: ignore[operator]
    assert seen is not None and seen["active"] is True
    assert seen["sub"] == provider.user_id and seen["client_id"] == client_id
    assert set(seen["scope"].split()) == {"openid", "offline_access", "profile", "email"}
    assert seen["exp"] > seen["iat"]

    fresh = ex["refresh"](token)  # type: ignore[operator]
    assert fresh["access_token"] != token["access_token"] and fresh["refresh_token"]
    assert ex["check_access_token"](fresh["access_token"])  # type: ignore[operator]
    # OpenID Connect Core section 12.2: the refreshed ID token is the same sign-in (same
    # issuer, user and audience) and, since the refresh request sent none, has no nonce.
    again = jwt.decode(fresh["id_token"], KeySet.import_key_set(jwks(provider)))
    assert {k: again.claims[k] for k in ("iss", "sub", "aud", "auth_time")} == {
        k: claims[k] for k in ("iss", "sub", "aud", "auth_time")
    }
    assert "nonce" not in again.claims

    ex["sign_out"](fresh)  # type: ignore[operator]
    for access in (fresh["access_token"], token["access_token"]):
        assert ex["check_access_token"](access) is None  # type: ignore[operator]
    with pytest.raises(OAuthError) as refused:
        ex["refresh"](fresh)  # type: ignore[operator]
    assert refused.value.error == "invalid_grant"


def test_the_example_refuses_an_id_token_it_should_not_trust(provider: Provider) -> None:
    ex = partner(provider, "client_secret_basic")
    url, saved = ex["begin_sign_in"]()  # type: ignore[operator]
    token, _ = ex["finish_sign_in"](user_signs_in(provider, url), saved)  # type: ignore[operator]
    verify = ex["verify_id_token"]
    id_token = token["id_token"]

    with pytest.raises(InvalidClaimError):  # another sign-in's nonce
        verify(id_token, "another-nonce")  # type: ignore[operator]
    header, body, signature = id_token.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    with pytest.raises(BadSignatureError):
        verify(f"{header}.{body}.{flipped}", saved["nonce"])  # type: ignore[operator]
    ex["CLIENT_ID"] = "app_someone_else"
    with pytest.raises(InvalidClaimError):  # issued to another client
        verify(id_token, saved["nonce"])  # type: ignore[operator]


def test_the_example_refuses_a_callback_that_was_tampered_with(provider: Provider) -> None:
    ex = partner(provider, "client_secret_post")
    url, saved = ex["begin_sign_in"]()  # type: ignore[operator]
    callback = user_signs_in(provider, url)
    with pytest.raises(ValueError, match="does not come from this provider"):
        ex["finish_sign_in"](callback.replace("&iss=", "&iss=x"), saved)  # type: ignore[operator]
    with pytest.raises(MismatchingStateException):  # not the state this session sent
        ex["finish_sign_in"](callback, {**saved, "state": "forged"})  # type: ignore[operator]
    # Neither attempt reached the token endpoint: the code is still good.
    token, claims = ex["finish_sign_in"](callback, saved)  # type: ignore[operator]
    assert claims["sub"] == provider.user_id and token["refresh_token"]


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"], ids=["ES256 ID tokens", "EdDSA ID tokens"])
def test_the_example_verifies_every_id_token_algorithm_on_offer(
    provider: Provider, alg: str
) -> None:
    ex = partner(provider, "client_secret_basic", id_token_alg=alg)
    url, saved = ex["begin_sign_in"]()  # type: ignore[operator]
    token, claims = ex["finish_sign_in"](user_signs_in(provider, url), saved)  # type: ignore[operator]
    assert claims["sub"] == provider.user_id
    keys = KeySet.import_key_set(jwks(provider))
    kid = jwt.decode(token["id_token"], keys, algorithms=[alg]).header["kid"]
    assert [k.get("alg") for k in jwks(provider)["keys"] if k["kid"] == kid] == [alg]


def test_the_authlib_example_runs_without_a_warning() -> None:
    """Pasted into a fresh interpreter that turns every warning into an error: Authlib's
    "The httpx module is deprecated" (raised at import) would end it."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", example_code()],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
