"""Hostile and broken requests at ``/oauth2/token``, ``/oauth2/revoke``, ``/oauth2/introspect``
and ``/oauth2/userinfo``, over HTTP: each refusal is asserted exactly (status and RFC 6749 /
RFC 6750 error code), and every answer, refusal or not, says ``Cache-Control: no-store``."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from leadexec_signin.compose import Services
from leadexec_signin.core.clients import ClientRegistration
from oauth_browser import sign_in_and_consent
from support.signin import PARTNER, PASSWORD, authorize, sign_in
from web.oauth_flow import REDIRECT, Client, Pkce, auth_params, query_of

EMAIL = "ann@example.com"


@dataclass(frozen=True)
class Rp:
    id: str
    secret: str
    method: str

    def auth(self) -> dict[str, object]:
        """The request arguments that authenticate this client as it registered."""
        if self.method == "client_secret_basic":
            return {"auth": (self.id, self.secret)}
        if self.method == "client_secret_post":
            return {"extra": {"client_id": self.id, "client_secret": self.secret}}
        return {"extra": {"client_id": self.id}}


def register(services: Services, method: str, name: str = "RP", **more: object) -> Rp:
    confidential = method != "none"
    app, secret = services.registry.register(
        name=name,
        origins=list(more.pop("origins", ())),  # type: ignore[call-overload]
        scopes="profile,email",
        with_secret=confidential,
        hardened=bool(more.pop("hardened", False)),
        client=ClientRegistration(redirect_uris=(REDIRECT,), auth_method=method, **more),
    )
    services.operator.set_app_status(app.id, "approved")
    return Rp(app.id, secret or "", method)


@pytest.fixture
def rp(services: Services, world: object) -> Rp:
    return register(services, "client_secret_basic")


@pytest.fixture
def post_rp(services: Services, world: object) -> Rp:
    return register(services, "client_secret_post", name="Post RP")


@pytest.fixture
def public_rp(services: Services, world: object) -> Rp:
    return register(services, "none", name="Public RP")


def post(client: TestClient, path: str, rp: Rp | None = None, **kwargs: object):
    """POST with ``rp``'s authentication merged into the form."""
    data = dict(kwargs.pop("data", {}) or {})  # type: ignore[call-overload]
    if rp is not None:
        how = rp.auth()
        data.update(how.get("extra", {}))  # type: ignore[call-overload]
        if "auth" in how:
            kwargs.setdefault("auth", how["auth"])
    return client.post(path, data=data, **kwargs)  # type: ignore[arg-type]


def refused(r, status: int, code: str, *, basic: bool = False) -> None:
    assert (r.status_code, r.json()["error"]) == (status, code), r.text
    assert r.json()["error_description"]
    no_store(r)
    challenge = r.headers.get("www-authenticate", "")
    if basic:
        assert challenge.startswith("Basic "), r.headers
    else:
        assert not challenge.startswith("Basic"), r.headers


def no_store(r) -> None:
    assert r.headers.get("cache-control") == "no-store", (r.status_code, r.headers)


def new_code(client: TestClient, rp: Rp) -> tuple[str, str]:
    """A fresh code of ``rp`` for Ann (signing her in first if needed) and its verifier."""
    pkce = Pkce()
    url = "/oauth2/authorize?" + urlencode(auth_params(Client(rp.id, None), pkce))
    callback = sign_in_and_consent(client, url, EMAIL, PASSWORD)
    return query_of(callback)["code"], pkce.verifier


def exchange(client: TestClient, rp: Rp, issued: str, verifier: str, **changes: str):
    """The authorization_code grant; a change to "" leaves that parameter out."""
    form = {
        "grant_type": "authorization_code",
        "code": issued,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **changes,
    }
    return post(client, "/oauth2/token", rp, data={k: v for k, v in form.items() if v})


def tokens(client: TestClient, rp: Rp) -> dict[str, str]:
    code, verifier = new_code(client, rp)
    r = exchange(client, rp, code, verifier)
    assert r.status_code == 200, r.text
    no_store(r)
    return r.json()


def active(client: TestClient, rp: Rp, token: str) -> bool:
    r = post(client, "/oauth2/introspect", rp, data={"token": token})
    assert r.status_code == 200, r.text
    no_store(r)
    return bool(r.json()["active"])


def basic_header(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


# -- the token endpoint: the request itself ----------------------------------------------

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"grant_type": "refresh_token"}', "application/json"),
        ("grant_type=refresh_token", "text/plain"),
        ("--b\r\nContent-Disposition: form-data; name=grant_type\r\n\r\nx\r\n--b--\r\n",
         "multipart/form-data; boundary=b"),
        ("grant_type=refresh_token", ""),
        ("grant_type=\xff\xfe", FORM),
        ("&".join(f"f{i}=v" for i in range(41)), FORM),
        ("grant_type=refresh_token&grant_type=authorization_code", FORM),
        ("grant_type=refresh_token&refresh_token=a&refresh_token=b", FORM),
        ("grant_type=authorization_code&code=" + "c" * 2049, FORM),
        ("grant_type=x&client_assertion=" + "a" * 8193, FORM),
        ("", FORM),
        ("grant_type=", FORM),
    ],
    ids=[
        "a JSON body is refused",
        "a text/plain body is refused",
        "a multipart body is refused",
        "a body without a content type is refused",
        "a form that is not UTF-8 is refused",
        "more than 40 fields are refused",
        "grant_type twice is refused",
        "refresh_token twice is refused",
        "a code longer than 2048 characters is refused",
        "a client assertion longer than 8192 characters is refused",
        "an empty form lacks grant_type",
        "an empty grant_type is missing",
    ],
)  # fmt: skip
def test_a_malformed_token_request_is_invalid_request(
    client: TestClient, rp: Rp, body: str, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/oauth2/token", content=body.encode("latin-1"), headers=headers)
    # (latin-1 so that "\xff" above is the raw byte 0xff, not UTF-8)
    refused(r, 400, "invalid_request")


def test_parameters_in_the_query_string_are_refused(client: TestClient, rp: Rp) -> None:
    r = client.post(
        "/oauth2/token?client_secret=" + rp.secret,
        data={"grant_type": "refresh_token", "refresh_token": "ler_x"},
        auth=(rp.id, rp.secret),
    )
    refused(r, 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type",
    ["password", "client_credentials", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer",
     "Authorization_Code", "x" * 300],
    ids=["password", "client credentials", "implicit", "jwt bearer", "wrong case", "long name"],
)  # fmt: skip
def test_an_unknown_grant_type_is_unsupported_grant_type(
    client: TestClient, rp: Rp, grant_type: str
) -> None:
    r = post(client, "/oauth2/token", rp, data={"grant_type": grant_type})
    refused(r, 400, "unsupported_grant_type", basic=False)
    assert len(r.json()["error_description"]) < 200


def test_a_body_over_the_limit_is_413_without_a_token(client: TestClient, rp: Rp) -> None:
    r = client.post(
        "/oauth2/token",
        content=b"grant_type=refresh_token&pad=" + b"x" * (65 * 1024),
        headers={"Content-Type": FORM},
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "invalid_request" and "access_token" not in r.json()
    no_store(r)


def test_the_token_endpoint_answers_get_with_405(client: TestClient) -> None:
    r = client.get("/oauth2/token", params={"grant_type": "refresh_token"})
    assert (r.status_code, r.json()["error"]) == (405, "method_not_allowed"), r.text
    no_store(r)


# -- the token endpoint: client authentication ---------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"Authorization": "Basic !!!not-base64!!!"},
        basic_header(b"no-colon-here"),
        basic_header(b":secret-without-id"),
        basic_header(b"\xff\xfe:\xff"),
        {"Authorization": "Basic"},
    ],
    ids=[
        "not base64",
        "no colon between id and secret",
        "an empty client id",
        "not UTF-8 inside",
        "the scheme alone",
    ],
)
def test_an_unreadable_basic_header_is_401_with_a_basic_challenge(
    client: TestClient, rp: Rp, header: dict[str, str]
) -> None:
    r = client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "ler_x"},
        headers=header,
    )
    refused(r, 401, "invalid_client", basic=True)


def test_another_authorization_scheme_is_invalid_client(client: TestClient, rp: Rp) -> None:
    r = client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "ler_x"},
        headers={"Authorization": "Bearer lea_something"},
    )
    refused(r, 401, "invalid_client")


def test_an_unknown_client_is_invalid_client(client: TestClient, rp: Rp) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "ler_x"}
    for client_id in ("app_AAAAAAAAAAAAAAAAAAAAAA", "not an app id", "app_" + "x" * 500):
        r = client.post("/oauth2/token", data=form, auth=(client_id, rp.secret))
        refused(r, 401, "invalid_client", basic=True)
        r = client.post(
            "/oauth2/token", data={**form, "client_id": client_id, "client_secret": rp.secret}
        )
        refused(r, 401, "invalid_client")


def test_a_wrong_secret_is_401_with_a_challenge_only_when_basic_was_used(
    client: TestClient, rp: Rp, post_rp: Rp
) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "ler_x"}
    r = client.post("/oauth2/token", data=form, auth=(rp.id, rp.secret + "x"))
    refused(r, 401, "invalid_client", basic=True)
    r = client.post("/oauth2/token", data=form, auth=(rp.id, ""))
    refused(r, 401, "invalid_client", basic=True)
    r = client.post(
        "/oauth2/token", data={**form, "client_id": post_rp.id, "client_secret": "wrong"}
    )
    refused(r, 401, "invalid_client")


def test_a_client_is_held_to_the_method_it_registered(
    client: TestClient, rp: Rp, post_rp: Rp
) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "ler_x"}
    # The right secret, sent the other way.
    r = client.post("/oauth2/token", data={**form, "client_id": rp.id, "client_secret": rp.secret})
    refused(r, 401, "invalid_client")
    r = client.post("/oauth2/token", data=form, auth=(post_rp.id, post_rp.secret))
    refused(r, 401, "invalid_client", basic=True)
    # No secret at all: a confidential client cannot pass as a public one.
    r = client.post("/oauth2/token", data={**form, "client_id": rp.id})
    refused(r, 401, "invalid_client")
    r = client.post("/oauth2/token", data=form)
    refused(r, 401, "invalid_client")


def test_two_authentication_methods_at_once_are_refused(client: TestClient, rp: Rp) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "ler_x"}
    r = client.post(
        "/oauth2/token", data={**form, "client_secret": rp.secret}, auth=(rp.id, rp.secret)
    )
    refused(r, 400, "invalid_request")


def test_a_client_id_in_the_form_must_match_basic(client: TestClient, rp: Rp, post_rp: Rp) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "ler_x", "client_id": post_rp.id}
    r = client.post("/oauth2/token", data=form, auth=(rp.id, rp.secret))
    refused(r, 401, "invalid_client", basic=True)


def test_a_suspended_client_is_invalid_client(
    client: TestClient, services: Services, rp: Rp
) -> None:
    services.operator.set_app_status(rp.id, "suspended")
    r = post(
        client, "/oauth2/token", rp, data={"grant_type": "refresh_token", "refresh_token": "x"}
    )
    refused(r, 401, "invalid_client", basic=True)


# -- the authorization code grant ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"code": ""}, "invalid_request"),
        ({"redirect_uri": ""}, "invalid_request"),
        ({"code_verifier": ""}, "invalid_request"),
        ({"code": "lec_made-up"}, "invalid_grant"),
        ({"code": "not-a-code"}, "invalid_grant"),
        ({"code": "ler_" + "a" * 43}, "invalid_grant"),
        ({"redirect_uri": "https://rp.example/cb/"}, "invalid_grant"),
        ({"redirect_uri": "https://rp.example/cb?x=1"}, "invalid_grant"),
        ({"redirect_uri": "https://RP.example/cb"}, "invalid_grant"),
        ({"code_verifier": "x" * 43}, "invalid_grant"),
        ({"code_verifier": "short"}, "invalid_grant"),
    ],
    ids=[
        "a missing code is invalid_request",
        "a missing redirect_uri is invalid_request",
        "a missing code_verifier is invalid_request",
        "a made-up code is invalid_grant",
        "something that is not a code is invalid_grant",
        "a refresh token as the code is invalid_grant",
        "a redirect_uri with a trailing slash is invalid_grant",
        "a redirect_uri with a query is invalid_grant",
        "a redirect_uri with another case is invalid_grant",
        "a code_verifier that does not match is invalid_grant",
        "a code_verifier too short to match is invalid_grant",
    ],
)
def test_a_bad_code_exchange_is_refused_exactly(
    client: TestClient, rp: Rp, change: dict[str, str], code: str
) -> None:
    issued, verifier = new_code(client, rp)
    r = exchange(client, rp, issued, verifier, **change)
    refused(r, 400, code, basic=False)


def test_a_refused_code_exchange_leaves_the_code_to_its_client(client: TestClient, rp: Rp) -> None:
    """A wrong verifier or redirect URI is not a replay: nothing was issued, so the rightful
    exchange that follows still works."""
    code, verifier = new_code(client, rp)
    refused(exchange(client, rp, code, "y" * 43), 400, "invalid_grant")
    refused(exchange(client, rp, code, verifier, redirect_uri="https://rp.example/x"), 400,
            "invalid_grant")  # fmt: skip
    r = exchange(client, rp, code, verifier)
    assert r.status_code == 200 and r.json()["access_token"], r.text


def test_a_code_of_another_client_is_invalid_grant(client: TestClient, rp: Rp, post_rp: Rp) -> None:
    code, verifier = new_code(client, rp)
    refused(exchange(client, post_rp, code, verifier), 400, "invalid_grant")
    # The code's own client can still use it: another client's attempt proves nothing.
    assert exchange(client, rp, code, verifier).status_code == 200


def test_a_replayed_code_is_invalid_grant_and_revokes_what_it_issued(
    client: TestClient, rp: Rp
) -> None:
    code, verifier = new_code(client, rp)
    first = exchange(client, rp, code, verifier)
    assert first.status_code == 200, first.text
    issued = first.json()
    assert active(client, rp, issued["access_token"])

    replay = exchange(client, rp, code, verifier)
    refused(replay, 400, "invalid_grant")

    assert not active(client, rp, issued["access_token"])
    assert not active(client, rp, issued["refresh_token"])
    r = post(
        client,
        "/oauth2/token",
        rp,
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
    )
    refused(r, 400, "invalid_grant")
    r = client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"}
    )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_token")
    # A third try is refused the same way.
    refused(exchange(client, rp, code, verifier), 400, "invalid_grant")


def test_an_expired_code_is_invalid_grant(client: TestClient, rp: Rp, clock) -> None:
    code, verifier = new_code(client, rp)
    clock.advance(minutes=11)
    refused(exchange(client, rp, code, verifier), 400, "invalid_grant")


def test_a_public_client_exchanges_with_pkce_alone(client: TestClient, public_rp: Rp) -> None:
    code, verifier = new_code(client, public_rp)
    refused(exchange(client, public_rp, code, "z" * 43), 400, "invalid_grant")
    r = exchange(client, public_rp, code, verifier)
    assert r.status_code == 200, r.text
    no_store(r)


# -- one surface's code at the other's endpoint ---------------------------------------------


@pytest.fixture
def both(services: Services, world: object) -> Rp:
    """An application on both surfaces: hardened delivery for its button, and an OAuth client
    with the same secret."""
    return register(services, "client_secret_basic", name="Both", origins=(PARTNER,), hardened=True)


def test_a_hardened_delivery_code_is_refused_at_the_oauth_token_endpoint(
    client: TestClient, services: Services, both: Rp
) -> None:
    btn = services.registry.create_button(app_id=both.id, scopes="profile").id
    sign_in(client)
    seed_code = authorize(client, btn)["code"]
    assert seed_code
    refused(exchange(client, both, str(seed_code), Pkce().verifier), 400, "invalid_grant")
    # Refused there without being spent: the application's backend still trades it.
    r = client.post(
        "/api/token", data={"appId": both.id, "code": seed_code, "appSecret": both.secret}
    )
    assert r.status_code == 200 and r.json()["refreshToken"], r.text


def test_an_oauth_code_is_refused_at_the_seed_token_endpoint(client: TestClient, both: Rp) -> None:
    code, verifier = new_code(client, both)
    r = client.post("/api/token", data={"appId": both.id, "code": code, "appSecret": both.secret})
    assert r.status_code == 400, r.text
    assert r.json()["valid"] is False and r.json()["error"] == "invalid_grant"
    assert r.json()["refreshToken"] is None and r.json()["authToken"] is None
    # Still good where it belongs.
    assert exchange(client, both, code, verifier).status_code == 200


# -- the refresh_token grant -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"refresh_token": ""}, "invalid_request"),
        ({"refresh_token": "ler_made-up"}, "invalid_grant"),
        ({"refresh_token": "lec_" + "a" * 43}, "invalid_grant"),
        ({"scope": "openid profile email account"}, "invalid_scope"),
        ({"scope": " "}, "invalid_scope"),
    ],
    ids=[
        "a missing refresh token is invalid_request",
        "a made-up refresh token is invalid_grant",
        "a code as the refresh token is invalid_grant",
        "a wider scope is invalid_scope",
        "an empty scope is invalid_scope",
    ],
)
def test_a_bad_refresh_is_refused_exactly(
    client: TestClient, rp: Rp, change: dict[str, str], code: str
) -> None:
    issued = tokens(client, rp)
    form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], **change}
    r = post(client, "/oauth2/token", rp, data={k: v for k, v in form.items() if v})
    refused(r, 400, code)


def test_a_refresh_token_of_another_client_is_invalid_grant(
    client: TestClient, rp: Rp, post_rp: Rp
) -> None:
    issued = tokens(client, rp)
    form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    refused(post(client, "/oauth2/token", post_rp, data=form), 400, "invalid_grant")
    r = post(client, "/oauth2/token", rp, data=form)
    assert r.status_code == 200, r.text
    no_store(r)


def test_a_seed_refresh_token_is_invalid_grant_at_the_oauth_token_endpoint(
    client: TestClient, services: Services, world: object
) -> None:
    plain = register(services, "client_secret_basic", name="Seed too", origins=(PARTNER,))
    btn = services.registry.create_button(app_id=plain.id, scopes="profile").id
    sign_in(client)
    seed = authorize(client, btn)
    form = {"grant_type": "refresh_token", "refresh_token": seed["refreshToken"]}
    refused(post(client, "/oauth2/token", plain, data=form), 400, "invalid_grant")


# -- revocation (RFC 7009) -------------------------------------------------------------------


def test_revocation_refuses_a_request_without_a_token(client: TestClient, rp: Rp) -> None:
    refused(post(client, "/oauth2/revoke", rp, data={}), 400, "invalid_request")
    refused(post(client, "/oauth2/revoke", rp, data={"token": ""}), 400, "invalid_request")
    r = client.post(
        "/oauth2/revoke", content=b"token=a&token=b", headers={"Content-Type": FORM},
        auth=(rp.id, rp.secret),
    )  # fmt: skip
    refused(r, 400, "invalid_request")
    r = client.post("/oauth2/revoke", json={"token": "x"}, auth=(rp.id, rp.secret))
    refused(r, 400, "invalid_request")
    r = post(client, "/oauth2/revoke", rp, data={"token": "x" * 2049})
    refused(r, 400, "invalid_request")


def test_revocation_authenticates_the_client(client: TestClient, rp: Rp, post_rp: Rp) -> None:
    refused(client.post("/oauth2/revoke", data={"token": "x"}, auth=(rp.id, "wrong")), 401,
            "invalid_client", basic=True)  # fmt: skip
    r = client.post("/oauth2/revoke", data={"token": "x"}, headers=basic_header(b"garbage"))
    refused(r, 401, "invalid_client", basic=True)
    r = client.post("/oauth2/revoke", data={"token": "x", "client_id": post_rp.id})
    refused(r, 401, "invalid_client")
    r = client.post(
        "/oauth2/revoke",
        data={"token": "x", "client_id": "app_AAAAAAAAAAAAAAAAAAAAAA", "client_secret": "s"},
    )
    refused(r, 401, "invalid_client")


def test_revoking_an_unknown_or_foreign_token_is_200_and_changes_nothing(
    client: TestClient, rp: Rp, post_rp: Rp
) -> None:
    issued = tokens(client, rp)
    for token in ("ler_unknown", "garbage", issued["refresh_token"], issued["access_token"]):
        hint = "access_token" if token.startswith("lea_") else "refresh_token"
        r = post(client, "/oauth2/revoke", post_rp, data={"token": token, "token_type_hint": hint})
        assert r.status_code == 200 and r.content == b"", r.text
        no_store(r)
    assert active(client, rp, issued["access_token"])
    r = post(client, "/oauth2/revoke", rp, data={"token": "x", "token_type_hint": "made_up"})
    assert r.status_code == 200
    no_store(r)


# -- introspection (RFC 7662) ----------------------------------------------------------------


def test_introspection_needs_a_token_and_a_confidential_client(
    client: TestClient, rp: Rp, public_rp: Rp
) -> None:
    refused(post(client, "/oauth2/introspect", rp, data={}), 400, "invalid_request")
    r = client.post("/oauth2/introspect", json={"token": "x"}, auth=(rp.id, rp.secret))
    refused(r, 400, "invalid_request")
    refused(post(client, "/oauth2/introspect", public_rp, data={"token": "x"}), 401,
            "invalid_client")  # fmt: skip
    refused(client.post("/oauth2/introspect", data={"token": "x"}), 401, "invalid_client")
    r = client.post("/oauth2/introspect", data={"token": "x"}, auth=(rp.id, "wrong"))
    refused(r, 401, "invalid_client", basic=True)
    r = client.post("/oauth2/introspect", data={"token": "x"}, headers=basic_header(b"\xff:"))
    refused(r, 401, "invalid_client", basic=True)
    r = client.post(
        "/oauth2/introspect", content=b"token=a&token=b", headers={"Content-Type": FORM},
        auth=(rp.id, rp.secret),
    )  # fmt: skip
    refused(r, 400, "invalid_request")
    refused(post(client, "/oauth2/introspect", rp, data={"token": "x" * 2049}), 400,
            "invalid_request")  # fmt: skip


def test_introspection_shows_nothing_of_other_clients_tokens(
    client: TestClient, rp: Rp, post_rp: Rp
) -> None:
    issued = tokens(client, rp)
    for token in (issued["access_token"], issued["refresh_token"], "lea_x", "x" * 2048):
        r = post(client, "/oauth2/introspect", post_rp, data={"token": token})
        assert r.status_code == 200 and r.json() == {"active": False}, r.text
        no_store(r)


# -- UserInfo (OpenID Connect Core section 5.3) ---------------------------------------------


def bearer_refused(r, status: int, code: str) -> None:
    assert (r.status_code, r.json()["error"]) == (status, code), r.text
    assert r.headers["www-authenticate"].startswith("Bearer"), r.headers
    no_store(r)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer lea_made-up"},
        {"Authorization": "Bearer " + "x" * 3000},
        {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
        {"Authorization": "Bearer ler_" + "a" * 43},
    ],
    ids=[
        "no token",
        "the scheme alone",
        "a made-up token",
        "an oversized token",
        "Basic instead of Bearer",
        "a refresh token as the bearer",
    ],
)
def test_userinfo_without_a_valid_token_is_401_invalid_token(
    client: TestClient, world: object, headers: dict[str, str]
) -> None:
    r = client.get("/oauth2/userinfo", headers=headers)
    bearer_refused(r, 401, "invalid_token")


def test_userinfo_refuses_a_token_sent_twice_or_in_the_query(client: TestClient, rp: Rp) -> None:
    issued = tokens(client, rp)
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    r = client.post("/oauth2/userinfo", data={"access_token": issued["access_token"]},
                    headers=bearer)  # fmt: skip
    refused(r, 400, "invalid_request")
    token = issued["access_token"]
    r = client.post(
        "/oauth2/userinfo",
        content=f"access_token={token}&access_token={token}".encode(),
        headers={"Content-Type": FORM},
    )
    refused(r, 400, "invalid_request")
    # RFC 6750 section 2.3 (query parameter) is not supported: the token there is not read.
    r = client.get("/oauth2/userinfo", params={"access_token": token})
    bearer_refused(r, 401, "invalid_token")
    r = client.post("/oauth2/userinfo", data={"access_token": token})
    assert r.status_code == 200 and r.json()["sub"], r.text
    no_store(r)


def test_userinfo_refuses_a_seed_token_and_a_revoked_one(client: TestClient, rp: Rp, world) -> None:
    sign_in(client)
    seed = authorize(client, world.btn_id)
    r = client.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {seed['authToken']}"})
    bearer_refused(r, 403, "insufficient_scope")
    issued = tokens(client, rp)
    assert (
        post(client, "/oauth2/revoke", rp, data={"token": issued["access_token"]}).status_code
        == 200
    )
    r = client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"}
    )
    bearer_refused(r, 401, "invalid_token")
