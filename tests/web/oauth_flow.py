"""Driving the standard OAuth 2.1 / OpenID Connect surface over HTTP, as a client and a
browser would: register a client, authorize with PKCE, consent, exchange the code."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from leadexec_signin.core.clients import ClientRegistration
from support.signin import ISSUER, csrf_of

REDIRECT = "https://rp.example/cb"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Client:
    id: str
    secret: str | None
    redirect_uri: str = REDIRECT

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.id, self.secret) if self.secret else None


def register(
    services: Services,
    *,
    secret: bool = True,
    scopes: str = "profile,email,account,settings",
    origins: tuple[str, ...] = (),
    **client: object,
) -> Client:
    reg = ClientRegistration(**{"redirect_uris": (REDIRECT,), **client})  # type: ignore[arg-type]
    app, app_secret = services.registry.register(
        name="Standard RP", origins=list(origins), scopes=scopes, with_secret=secret, client=reg
    )
    services.operator.set_app_status(app.id, "approved")
    return Client(app.id, app_secret, reg.redirect_uris[0] if reg.redirect_uris else REDIRECT)


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def auth_params(
    c: Client, pkce: Pkce, scope: str = "openid profile email offline_access", **extra: str
) -> dict[str, str]:
    return {
        "client_id": c.id,
        "redirect_uri": c.redirect_uri,
        "response_type": "code",
        "scope": scope,
        "state": "st-42",
        "nonce": "n-42",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def consent(client: TestClient, page: str, decision: str = "allow") -> object:
    fields = hidden_fields(page)
    fields.update({"decision": decision, "csrf": csrf_of(page)})
    return client.post(
        "/oauth2/authorize", data=fields, headers={"Origin": ISSUER}, follow_redirects=False
    )


def authorize(client: TestClient, params: dict[str, str]) -> dict[str, str]:
    """A signed-in browser: the authorization request, Allow if asked; the redirect's query."""
    r = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    if r.status_code == 200 and 'value="allow"' in r.text:
        r = consent(client, r.text)  # type: ignore[assignment]
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith(params["redirect_uri"]), location
    return query_of(location)


def exchange(client: TestClient, c: Client, code: str, pkce: Pkce, **extra: str) -> object:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": c.redirect_uri,
        "code_verifier": pkce.verifier,
        **extra,
    }
    if c.secret is None:
        data["client_id"] = c.id
    return client.post("/oauth2/token", data=data, auth=c.auth)


def tokens(client: TestClient, c: Client, scope: str = "openid profile email offline_access"):
    """Signed in already: authorize, exchange, return the token response's JSON."""
    pkce = Pkce()
    got = authorize(client, auth_params(c, pkce, scope))
    r = exchange(client, c, got["code"], pkce)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    return r.json()  # type: ignore[attr-defined]


def refresh(client: TestClient, c: Client, token: str, **extra: str) -> object:
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    if c.secret is None:
        data["client_id"] = c.id
    return client.post("/oauth2/token", data=data, auth=c.auth)
