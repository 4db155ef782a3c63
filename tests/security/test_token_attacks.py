"""Hostile tokens at ``/api/token`` and the LeadExec API (RFC 6819 sections 5.1.4, 5.2.2;
RFC 9700 section 4.14; RFC 6750 section 3.1): garbage, truncated, another app's, revoked,
a suspended app's, expired, and each kind of token where the other is expected."""

from __future__ import annotations

import hmac

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import database_url as database_url  # every backend: revocation is storage
from leadexec_signin.core import credentials
from leadexec_signin.storage.sql import tables
from support.refusals import refused_bearer, refused_seed
from support.signin import authorize, decide, open_popup, result_of, sign_in


@pytest.fixture
def tokens(client: TestClient, world) -> dict[str, object]:
    sign_in(client)
    return authorize(client, world.btn_id)


def exchange(client: TestClient, app_id: str, refresh: str, **extra: str) -> object:
    return client.post("/api/token", data={"appId": app_id, "refreshToken": refresh, **extra})


def me(client: TestClient, token: str) -> object:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


GARBAGE = {
    "a word": "garbage",
    "the bare prefix": "ler_",
    "a well-formed unknown token": "ler_" + "A" * 43,
    "an uppercase prefix": "LER_" + "A" * 43,
    "an SQL injection": "ler_' OR '1'='1' --" + "x" * 20,
    "a NUL byte": "ler_" + "\x00" * 43,
    "non-ascii letters": "ler_" + "\u00e9" * 43,
    "300 characters": "ler_" + "a" * 296,
    "a session id": "les_" + "A" * 43,
    "an app secret": "lesk_" + "A" * 43,
}


@pytest.mark.parametrize("token", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_refresh_tokens_are_invalid_grant(client, world, tokens, token) -> None:
    refused_seed(exchange(client, world.app_id, token), 400, "invalid_grant")


def mangled(token: str) -> dict[str, str]:
    return {
        "truncated by one character": token[:-1],
        "truncated to half": token[: len(token) // 2],
        "with one character added": token + "A",
        "with the case flipped": token[:4] + token[4:].swapcase(),
        "with base64 padding appended": token + "=",
    }


@pytest.mark.parametrize("how", list(mangled("ler_xxxxxxxx")), ids=list(mangled("ler_xxxxxxxx")))
def test_a_mangled_refresh_token_is_invalid_grant(client, world, tokens, how) -> None:
    refused_seed(
        exchange(client, world.app_id, mangled(tokens["refreshToken"])[how]), 400, "invalid_grant"
    )


@pytest.mark.parametrize("how", list(mangled("lea_xxxxxxxx")), ids=list(mangled("lea_xxxxxxxx")))
def test_a_mangled_access_token_is_invalid_token(client, tokens, how) -> None:
    refused_bearer(me(client, mangled(tokens["authToken"])[how]), 401, "invalid_token")


def test_another_apps_refresh_token_is_refused_like_a_made_up_one(client, world, tokens) -> None:
    other_app, _ = world.app(name="Thief")
    r = exchange(client, other_app, tokens["refreshToken"])
    refused_seed(r, 400, "invalid_grant")
    assert (
        r.json()["errorMessage"]
        == exchange(client, other_app, "ler_" + "A" * 43).json()["errorMessage"]
    )


def test_an_access_token_is_not_a_refresh_token(client, world, tokens) -> None:
    refused_seed(exchange(client, world.app_id, tokens["authToken"]), 400, "invalid_grant")


def test_a_refresh_token_is_not_an_access_token(client, tokens) -> None:
    refused_bearer(me(client, tokens["refreshToken"]), 401, "invalid_token")


def test_a_code_is_neither_kind_of_token(client, world) -> None:
    app_id, secret = world.app(with_secret=True, hardened=True, name="Hardened")
    sign_in(client)
    code = authorize(client, world.button("profile", app_id))["code"]
    assert code.startswith("lec_")
    refused_seed(exchange(client, app_id, code, appSecret=secret), 400, "invalid_grant")
    refused_bearer(me(client, code), 401, "invalid_token")


def test_a_revoked_refresh_token_and_its_access_tokens_die_at_once(client, world, tokens) -> None:
    fresh = exchange(client, world.app_id, tokens["refreshToken"]).json()["authToken"]
    assert client.get("/api/revoke", params={"token": tokens["refreshToken"]}).status_code == 200
    refused_seed(exchange(client, world.app_id, tokens["refreshToken"]), 400, "invalid_grant")
    refused_bearer(me(client, tokens["authToken"]), 401, "invalid_token")
    refused_bearer(me(client, fresh), 401, "invalid_token")
    refused_seed(
        client.get("/api/revoke", params={"token": tokens["refreshToken"]}), 400, "invalid_grant"
    )


def test_tokens_die_when_the_user_removes_access(client, world, tokens) -> None:
    grant = world.services.accounts.connected_apps(world.user_id)[0].grant
    world.services.revocation.remove_access(
        world.services.sessions.user(client.cookies["le_session"]), grant.id, "t"
    )
    refused_seed(exchange(client, world.app_id, tokens["refreshToken"]), 400, "invalid_grant")
    refused_bearer(me(client, tokens["authToken"]), 401, "invalid_token")


def test_old_tokens_stay_dead_after_the_user_consents_again(client, world, tokens) -> None:
    client.get("/api/revoke", params={"token": tokens["refreshToken"]})
    r = open_popup(client, world.btn_id)
    assert 'value="allow"' in r.text  # revoking forgot the consent
    again = result_of(decide(client, r.text, "allow", world.btn_id).text)["result"]
    assert again["refreshToken"] != tokens["refreshToken"]
    assert exchange(client, world.app_id, again["refreshToken"]).status_code == 200
    refused_seed(exchange(client, world.app_id, tokens["refreshToken"]), 400, "invalid_grant")
    refused_bearer(me(client, tokens["authToken"]), 401, "invalid_token")


def test_a_suspended_apps_tokens_stop_working(client, world, tokens) -> None:
    world.services.operator.set_app_status(world.app_id, "suspended")
    refused_seed(exchange(client, world.app_id, tokens["refreshToken"]), 401, "invalid_client")
    refused_bearer(me(client, tokens["authToken"]), 401, "invalid_token")
    world.services.operator.set_app_status(world.app_id, "approved")
    assert me(client, tokens["authToken"]).status_code == 200  # suspension, not revocation


def test_an_access_token_expires_after_one_hour(client, tokens, clock) -> None:
    clock.advance(seconds=3599)
    assert me(client, tokens["authToken"]).status_code == 200
    clock.advance(seconds=1)
    r = me(client, tokens["authToken"])
    refused_bearer(r, 401, "invalid_token")
    assert r.headers["www-authenticate"] == (
        'Bearer realm="LeadExec", error="invalid_token", '
        'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/api/v1"'
    )


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token TOKEN", "BearerTOKEN"],
    ids=["no header", "no token", "a blank token", "basic auth", "another scheme", "no space"],
)
def test_the_api_refuses_missing_or_foreign_credentials(client, tokens, header) -> None:
    if header is not None:
        header = header.replace("TOKEN", tokens["authToken"])
    r = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    refused_bearer(r, 401, "invalid_token")


@pytest.mark.parametrize("name", ["access_token", "authToken", "token"])
def test_the_api_never_reads_a_token_from_the_query(client, tokens, name) -> None:
    refused_bearer(
        client.get("/api/v1/me", params={name: tokens["authToken"]}), 401, "invalid_token"
    )


def test_an_unknown_or_malformed_app_id_is_invalid_client(client, world, tokens) -> None:
    for app_id in ("app_" + "A" * 22, "garbage", "app_'--" + "x" * 22):
        refused_seed(exchange(client, app_id, tokens["refreshToken"]), 401, "invalid_client")


def test_an_apps_secret_is_required_and_checked(client, world) -> None:
    app_id, secret = world.app(with_secret=True, name="Secretive")
    sign_in(client)
    refresh = authorize(client, world.button("profile", app_id))["refreshToken"]
    refused_seed(exchange(client, app_id, refresh), 401, "invalid_client")
    refused_seed(exchange(client, app_id, refresh, appSecret=secret[:-1]), 401, "invalid_client")
    refused_seed(exchange(client, app_id, refresh, appSecret=world.app_id), 401, "invalid_client")
    assert exchange(client, app_id, refresh, appSecret=secret).status_code == 200


def test_a_hardened_code_is_single_use_short_lived_and_bound_to_its_app(
    client, world, clock
) -> None:
    app_id, secret = world.app(with_secret=True, hardened=True, name="Hardened")
    other_id, other_secret = world.app(with_secret=True, hardened=True, name="Other")
    sign_in(client)
    btn = world.button("profile", app_id)

    def code() -> str:
        r = open_popup(client, btn)
        return result_of(r.text)["result"]["code"]  # type: ignore[attr-defined]

    def trade(c: str, app: str = app_id, s: str = secret) -> object:
        return client.post("/api/token", data={"appId": app, "code": c, "appSecret": s})

    decide(client, open_popup(client, btn).text, "allow", btn)  # consent once
    first = code()
    issued = trade(first)
    assert issued.status_code == 200  # type: ignore[attr-defined]
    refused_seed(trade(first), 400, "invalid_grant")  # replayed
    # The replay revoked what the first exchange issued (RFC 6749 section 4.1.2).
    refresh = issued.json()["refreshToken"]  # type: ignore[attr-defined]
    again = {"appId": app_id, "refreshToken": refresh, "appSecret": secret}
    refused_seed(client.post("/api/token", data=again), 400, "invalid_grant")
    access = issued.json()["authToken"]  # type: ignore[attr-defined]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert (me.status_code, me.json()["error"]) == (401, "invalid_token")
    # The replay revoked the whole grant, recorded as such (the partner's notice says so too).
    a = tables.audit_events
    with world.services.storage.engine.connect() as c:
        events = c.execute(
            select(a.c.event, a.c.detail).where(a.c.app_id == app_id).order_by(a.c.id)
        ).all()
    assert [(e, d.get("via")) for e, d in events if e in ("grant.revoked", "code.replayed")] == [
        ("grant.revoked", "code_replay"),
        ("code.replayed", None),
    ]
    decide(client, open_popup(client, btn).text, "allow", btn)  # the grant is gone: ask again
    stolen = code()
    refused_seed(trade(stolen, other_id, other_secret), 400, "invalid_grant")  # another app
    late = code()
    clock.advance(seconds=61)
    refused_seed(trade(late), 400, "invalid_grant")  # expired


def test_secrets_are_compared_in_constant_time_on_their_hashes(client, world, monkeypatch) -> None:
    app_id, secret = world.app(with_secret=True, name="Timed")
    sign_in(client)
    refresh = authorize(client, world.button("profile", app_id))["refreshToken"]
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(credentials.hmac, "compare_digest", spy)
    refused_seed(
        exchange(client, app_id, refresh, appSecret=secret[:-1] + "x"), 401, "invalid_client"
    )
    # The wrong secret reached the comparison only as a fixed-length SHA-256 digest.
    assert (
        credentials.token_hash(secret[:-1] + "x").encode(),
        credentials.token_hash(secret).encode(),
    ) in seen
