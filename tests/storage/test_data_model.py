"""The data model of the OAuth 2.1 / OpenID Connect surface: every new field survives storage on
each backend, migration 0003 keeps what was there and gives old rows their meaning, and the
pure rules it serves (redirect URIs, PKCE, signing keys and their rotation) hold."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import Connection, MetaData, Table, create_engine, event, inspect, make_url, select
from sqlalchemy.pool import NullPool

from leadexec_signin.core import clients
from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import Application
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.keys import (
    EDDSA,
    ES256,
    RS256,
    SigningKey,
    current_signing_key,
    new_signing_key,
    published_keys,
)
from leadexec_signin.core.tokens import AuthorizationCode, RefreshToken
from leadexec_signin.storage.sql import tables
from leadexec_signin.storage.sql.migrate import alembic_config
from leadexec_signin.storage.sql.store import SqlStorage, make_engine
from support.databases import BACKENDS, PG_ADMIN_URL

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
USER_ID = "usr_" + "u" * 22
GRANT_ID = "grt_" + "g" * 22
JWKS = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg"}]})


@pytest.fixture
def storage(database_url: str) -> Iterator[SqlStorage]:
    store = SqlStorage(make_engine(database_url))
    yield store
    store.engine.dispose()


def oauth_app(n: int = 1, **changes: Any) -> Application:
    fields: dict[str, Any] = {
        "id": f"app_{n:022d}",
        "name": f"App {n}",
        "owner_id": None,
        "status": "approved",
        "scopes": frozenset({"profile", "email"}),
        "origins": ("https://b.example", "https://a.example"),
        "secret_hash": "f" * 64,
        "created_at": NOW + timedelta(seconds=n),
        # Registration order, not alphabetical, must come back.
        "redirect_uris": ("https://b.example/cb", "com.example.app:/cb", "http://127.0.0.1/cb"),
        "client_type": clients.CONFIDENTIAL,
        "auth_method": clients.PRIVATE_KEY_JWT,
        "jwks_uri": "https://b.example/jwks.json",
        "jwks": JWKS,
        "rotate_refresh_tokens": True,
    }
    return Application(**{**fields, **changes})


def seed(storage: SqlStorage, app: Application) -> Grant:
    g = Grant(GRANT_ID, USER_ID, app.id, frozenset({"profile"}), NOW, NOW)
    with storage.transaction() as tx:
        tx.add_user(User(USER_ID, "u@example.com", "U", "$argon2id$x", created_at=NOW))
        tx.add_app(app)
        tx.add_grant(g)
    return g


# -- round trips ----------------------------------------------------------------------------


def test_an_application_keeps_its_client_registration(storage: SqlStorage) -> None:
    first = oauth_app(1)
    bare = oauth_app(
        2,
        origins=(),
        redirect_uris=(),
        secret_hash=None,
        client_type="",
        auth_method="",
        jwks_uri="",
        jwks=None,
        rotate_refresh_tokens=False,
    )
    seed(storage, first)
    with storage.transaction() as tx:
        tx.add_app(bare)
    with storage.transaction() as tx:
        assert tx.app_by_id(first.id) == first
        assert tx.app_by_id(bare.id) == bare
        assert tx.list_apps() == [first, bare]
        tx.add_refresh_token(RefreshToken("r" * 64, GRANT_ID, first.id, NOW))
        refresh_ctx = tx.refresh_token_context("r" * 64)
    assert refresh_ctx is not None and refresh_ctx[1].app == first  # the token check's app too
    # Left out, the client type and method follow from the secret, as the migration decided.
    assert (bare.client_type, bare.auth_method) == ("public", "none")
    with_secret = oauth_app(3, client_type="", auth_method="")
    assert (with_secret.client_type, with_secret.auth_method) == (
        "confidential",
        "client_secret_basic",
    )


def test_redirect_uris_and_client_settings_are_replaced_whole(storage: SqlStorage) -> None:
    app = oauth_app(1)
    seed(storage, app)
    with storage.transaction() as tx:
        tx.set_app_redirect_uris(app.id, ("https://new.example/cb", "https://b.example/cb"))
        tx.set_app_client(
            app.id,
            clients.ClientRegistration(client_type=clients.PUBLIC, auth_method=clients.NONE),
        )
    with storage.transaction() as tx:
        stored = tx.app_by_id(app.id)
    assert stored is not None
    assert stored.redirect_uris == ("https://new.example/cb", "https://b.example/cb")
    assert stored.origins == app.origins  # untouched
    assert (stored.client_type, stored.auth_method, stored.jwks_uri, stored.jwks) == (
        "public",
        "none",
        "",
        None,
    )
    assert stored.rotate_refresh_tokens is False
    with storage.transaction() as tx:
        tx.set_app_redirect_uris(app.id, ())
        assert tx.app_by_id(app.id).redirect_uris == ()  # type: ignore[union-attr]


def test_a_list_of_apps_loads_origins_and_redirect_uris_in_one_more_query(
    storage: SqlStorage,
) -> None:
    seed(storage, oauth_app(1))
    with storage.transaction() as tx:
        tx.add_app(oauth_app(2, redirect_uris=("https://two.example/cb",)))
        tx.add_app(oauth_app(3, origins=(), redirect_uris=()))
    statements: list[str] = []
    with storage.transaction() as tx:
        conn: Connection = tx.c
        event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
        found = tx.list_apps()
    assert len(statements) == 2, statements
    assert [a.redirect_uris for a in found] == [
        oauth_app(1).redirect_uris,
        ("https://two.example/cb",),
        (),
    ]
    assert [a.origins for a in found] == [oauth_app(1).origins, oauth_app(1).origins, ()]


def test_a_refresh_token_keeps_its_scopes_and_rotation_fields(storage: SqlStorage) -> None:
    g = seed(storage, oauth_app(1))
    narrowed = RefreshToken(
        "n" * 64,
        g.id,
        g.app_id,
        NOW,
        scopes=frozenset({"email", "profile"}),
        last_used_at=NOW + timedelta(days=1),
        replaced_by="s" * 64,
        rotated_at=NOW + timedelta(days=2),
    )
    legacy = RefreshToken("l" * 64, g.id, g.app_id, NOW)
    empty = RefreshToken("e" * 64, g.id, g.app_id, NOW, scopes=frozenset())
    with storage.transaction() as tx:
        for token in (narrowed, legacy, empty):
            tx.add_refresh_token(token)
    with storage.transaction() as tx:
        for token in (narrowed, legacy, empty):
            found = tx.refresh_token_context(token.token_hash)
            assert found is not None and found[0] == token
    # No scopes at all stays distinct from "all of the grant's".
    assert (legacy.scopes, empty.scopes) == (None, frozenset())


def test_a_code_keeps_what_the_authorization_request_bound_it_to(storage: SqlStorage) -> None:
    g = seed(storage, oauth_app(1))
    bound = AuthorizationCode(
        "c" * 64,
        g.id,
        g.app_id,
        NOW + timedelta(seconds=60),
        redirect_uri="https://b.example/cb?x=1",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        nonce="n-0S6_WzA2Mj",
        scopes=frozenset({"profile", "openid"}),
        created_at=NOW,
        consumed_at=NOW + timedelta(seconds=5),
    )
    hardened = AuthorizationCode("h" * 64, g.id, g.app_id, NOW + timedelta(seconds=60))
    with storage.transaction() as tx:
        tx.add_code(bound)
        tx.add_code(hardened)
    with storage.transaction() as tx:
        assert tx.consume_code(bound.code_hash, NOW) == (bound, False)  # consumed already
        taken = tx.consume_code(hardened.code_hash, NOW)
        assert taken is not None and taken[1] is True
        assert replace(taken[0], consumed_at=None) == hardened


def test_signing_keys_keep_their_algorithm_and_rotation_times(storage: SqlStorage) -> None:
    old = new_signing_key("key_old", NOW, EDDSA)
    rsa_key = new_signing_key("key_rsa", NOW + timedelta(seconds=1), RS256)
    ec_key = new_signing_key(
        "key_ec", NOW + timedelta(seconds=2), ES256, activates_at=NOW + timedelta(days=1)
    )
    with storage.transaction() as tx:
        for key in (ec_key, old, rsa_key):
            tx.add_signing_key(key)
    retired, expires = NOW + timedelta(hours=1), NOW + timedelta(days=8)
    with storage.transaction() as tx:
        assert tx.retire_signing_key("key_old", retired, expires) is True
        # Retiring again cannot push a retirement later; an unknown kid retires nothing.
        assert tx.retire_signing_key("key_old", NOW + timedelta(days=30), None) is False
        assert tx.retire_signing_key("key_missing", retired, expires) is False
    with storage.transaction() as tx:
        stored = tx.signing_keys()
    assert stored == [
        SigningKey(old.kid, old.private_pem, NOW, EDDSA, NOW, retired, expires),
        rsa_key,
        ec_key,
    ]
    assert ec_key.activates_at == NOW + timedelta(days=1)
    assert stored[1].public_jwk() == rsa_key.public_jwk()


# -- migration 0003 -------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own with nothing in it (the shared ones are already at head)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    # conftest's naming, so an interrupted run's database is swept by the next one.
    name = f"lx_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


OLD_KEY = new_signing_key("key_legacy", NOW)
CONFIDENTIAL_ID, PUBLIC_ID = "app_" + "c" * 22, "app_" + "p" * 22
NAIVE = NOW.replace(tzinfo=None)  # what the columns hold
OLD_ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [
        {
            "id": USER_ID,
            "email": "u@example.com",
            "name": "U",
            "password_hash": "$argon2id$x",
            "preferences": {},
            "created_at": NAIVE,
        },
    ],
    "applications": [
        {
            "id": CONFIDENTIAL_ID,
            "name": "With secret",
            "status": "approved",
            "scopes": "email profile",
            "secret_hash": "f" * 64,
            "hardened": True,
            "created_at": NAIVE,
        },
        {
            "id": PUBLIC_ID,
            "name": "Without",
            "status": "approved",
            "scopes": "profile",
            "created_at": NAIVE,
        },
    ],
    "app_origins": [{"app_id": PUBLIC_ID, "origin": "https://p.example", "position": 0}],
    "buttons": [
        {
            "id": "btn_" + "b" * 22,
            "app_id": PUBLIC_ID,
            "scopes": "profile",
            "theme": "light",
            "size": "medium",
            "text": "Sign in",
            "created_at": NAIVE,
        },
    ],
    "grants": [
        {
            "id": GRANT_ID,
            "user_id": USER_ID,
            "app_id": CONFIDENTIAL_ID,
            "scopes": "email profile",
            "created_at": NAIVE,
            "last_used_at": NAIVE,
        },
    ],
    "refresh_tokens": [
        {
            "token_hash": "r" * 64,
            "grant_id": GRANT_ID,
            "app_id": CONFIDENTIAL_ID,
            "created_at": NAIVE,
        },
    ],
    "access_tokens": [
        {
            "token_hash": "a" * 64,
            "grant_id": GRANT_ID,
            "app_id": CONFIDENTIAL_ID,
            "scopes": "profile",
            "expires_at": NAIVE + timedelta(hours=1),
            "created_at": NAIVE,
        },
    ],
    "auth_codes": [
        {
            "code_hash": "c" * 64,
            "grant_id": GRANT_ID,
            "app_id": CONFIDENTIAL_ID,
            "expires_at": NAIVE + timedelta(minutes=1),
        },
    ],
    "signing_keys": [
        {"kid": OLD_KEY.kid, "private_pem": OLD_KEY.private_pem, "created_at": NAIVE},
    ],
    "notices": [
        {
            "id": "ntc_" + "n" * 22,
            "app_id": PUBLIC_ID,
            "url": "https://p.example/n",
            "body": "{}",
            "next_attempt_at": NAIVE,
            "created_at": NAIVE,
        },
    ],
}


def migrated_with_old_rows(url: str) -> Config:
    """The database at revision 0002 holding ``OLD_ROWS``; its Alembic config."""
    cfg = alembic_config(url)
    command.upgrade(cfg, "0002")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        old = MetaData()
        for name, rows in OLD_ROWS.items():
            table = Table(name, old, autoload_with=c)
            for row in rows:  # one by one: the rows do not all name the same columns
                c.execute(table.insert().values(row))
    engine.dispose()
    return cfg


def count_rows(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        counts = {
            name: c.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
            for name in OLD_ROWS
        }
    engine.dispose()
    return counts


def assert_old_rows_kept_their_meaning(url: str) -> None:
    assert count_rows(url) == {name: len(rows) for name, rows in OLD_ROWS.items()}
    store = SqlStorage(make_engine(url))
    try:
        with store.transaction() as tx:
            secret = tx.app_by_id(CONFIDENTIAL_ID)
            public = tx.app_by_id(PUBLIC_ID)
            assert secret is not None and public is not None
            assert (secret.client_type, secret.auth_method) == (
                "confidential",
                "client_secret_basic",
            )
            assert (public.client_type, public.auth_method) == ("public", "none")
            for app in (secret, public):
                assert (app.jwks_uri, app.jwks, app.rotate_refresh_tokens) == ("", None, False)
                assert app.redirect_uris == ()
            assert public.origins == ("https://p.example",)
            assert secret.hardened is True and secret.secret_hash == "f" * 64
            found = tx.refresh_token_context("r" * 64)
            assert found is not None
            # 0004 marks old tokens used at the upgrade; everything else is as it was.
            kept = dataclasses.replace(found[0], last_used_at=None)
            assert kept == RefreshToken("r" * 64, GRANT_ID, CONFIDENTIAL_ID, NOW)
            assert found[0].scopes is None  # all of the grant's, as before
            assert tx.access_token_context("a" * 64) is not None
            [key] = tx.signing_keys()
            assert key == SigningKey(OLD_KEY.kid, OLD_KEY.private_pem, NOW, EDDSA, NOW)
            assert key.public_jwk() == OLD_KEY.public_jwk()  # still the same Ed25519 key
            code = tx.c.execute(select(tables.auth_codes)).one()
            assert (
                code.redirect_uri,
                code.code_challenge,
                code.code_challenge_method,
                code.nonce,
                code.scopes,
                code.created_at,
                code.consumed_at,
            ) == ("", "", "", "", None, None, None)
    finally:
        store.engine.dispose()


def test_migration_0003_keeps_every_row_and_gives_old_ones_their_meaning(
    empty_database: str,
) -> None:
    url = empty_database
    cfg = migrated_with_old_rows(url)

    # Read through today's repositories, so up to the newest revision (later ones only add).
    command.upgrade(cfg, "head")
    assert_old_rows_kept_their_meaning(url)

    command.downgrade(cfg, "0002")
    assert count_rows(url) == {name: len(rows) for name, rows in OLD_ROWS.items()}
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        schema = inspect(c)
        assert "app_redirect_uris" not in schema.get_table_names()
        assert {col["name"] for col in schema.get_columns("signing_keys")} == {
            "kid",
            "private_pem",
            "created_at",
        }
        assert "client_type" not in {col["name"] for col in schema.get_columns("applications")}
    engine.dispose()

    command.upgrade(cfg, "head")
    assert_old_rows_kept_their_meaning(url)


def test_the_migrations_build_exactly_the_schema_of_tables_py(database_url: str) -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), tables.metadata)
    engine.dispose()
    assert diff == []


# -- redirect URIs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("https://app.example/callback", id="an https URI is accepted"),
        pytest.param("https://app.example:8443/cb?tenant=1", id="a port and a query are kept"),
        pytest.param("http://127.0.0.1/cb", id="http on the IPv4 loopback is accepted"),
        pytest.param("http://[::1]:8080/cb", id="http on the IPv6 loopback is accepted"),
        pytest.param("http://localhost:3000/cb", id="http on localhost is accepted"),
        pytest.param("com.example.app:/oauth2redirect", id="a reverse-domain scheme is accepted"),
    ],
)
def test_a_redirect_uri_that_follows_the_rules_is_kept_as_written(uri: str) -> None:
    assert clients.check_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        pytest.param("/callback", "must be absolute", id="a relative URI is refused"),
        pytest.param("https://app.example/cb#x", "fragment", id="a fragment is refused"),
        pytest.param("https://app.example/cb#", "fragment", id="an empty fragment is refused"),
        pytest.param("http://app.example/cb", "must use https", id="http off loopback is refused"),
        pytest.param("http://10.0.0.1/cb", "must use https", id="http to a LAN is refused"),
        pytest.param("myapp:/cb", "reverse domain", id="a scheme without a dot is refused"),
        pytest.param("javascript:alert(1)", "reverse domain", id="javascript is refused"),
        pytest.param("data:text/html,x", "reverse domain", id="data is refused"),
        pytest.param("HTTPS://app.example/cb", "in lowercase", id="an uppercase scheme is refused"),
        pytest.param("https:///cb", "must name a host", id="https without a host is refused"),
        pytest.param(
            "https://good.example@evil.example/cb",
            "credentials",
            id="credentials in the authority are refused",
        ),
        pytest.param("https://app.example:99999/cb", "Not a valid", id="a bad port is refused"),
        pytest.param("https://app.example/a b", "spaces", id="a space is refused"),
        pytest.param("https://app.example/\x00", "ASCII", id="a control character is refused"),
        pytest.param("https://app.example/é", "ASCII", id="non-ASCII is refused"),
        pytest.param("https://app.example/" + "a" * 2030, "at most", id="too long is refused"),
        pytest.param("", "absolute ASCII", id="nothing is refused"),
    ],
)
def test_a_redirect_uri_that_breaks_a_rule_is_refused(uri: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        clients.check_redirect_uri(uri)
    assert refused.value.code == "invalid_request" and refused.value.status == 400
    assert message in refused.value.description


REGISTERED = (
    "https://app.example/cb",
    "http://127.0.0.1/native",
    "http://[::1]:8000/native",
    "http://localhost/dev?x=1",
    "com.example.app:/cb",
)


@pytest.mark.parametrize(
    ("requested", "matched"),
    [
        pytest.param("https://app.example/cb", True, id="an exact https URI matches"),
        pytest.param("com.example.app:/cb", True, id="an exact private-scheme URI matches"),
        pytest.param(
            "http://127.0.0.1:51004/native", True, id="IPv4 loopback matches with any port"
        ),
        pytest.param("http://127.0.0.1/native", True, id="IPv4 loopback matches without a port"),
        pytest.param("http://[::1]:1/native", True, id="IPv6 loopback matches with another port"),
        pytest.param("http://localhost:5173/dev?x=1", True, id="localhost matches with any port"),
        pytest.param(
            "https://app.example:443/cb", False, id="an https URI with a port added does not match"
        ),
        pytest.param("https://app.example/cb/", False, id="a trailing slash does not match"),
        pytest.param("https://app.example/cb?x=1", False, id="an added query does not match"),
        pytest.param("https://APP.example/cb", False, id="another case does not match"),
        pytest.param(
            "http://127.0.0.1:8080/other", False, id="loopback with another path does not match"
        ),
        pytest.param(
            "http://localhost:8080/native", False, id="localhost does not stand in for 127.0.0.1"
        ),
        pytest.param(
            "http://127.0.0.1:8080/native#f", False, id="loopback with a fragment does not match"
        ),
        pytest.param(
            "http://evil@127.0.0.1:8080/native",
            False,
            id="loopback with credentials does not match",
        ),
        pytest.param(
            "https://127.0.0.1:8080/native",
            False,
            id="https does not stand in for http on loopback",
        ),
        pytest.param(
            "http://localhost:5173/dev?x=2", False, id="loopback with another query does not match"
        ),
        pytest.param(
            "http://127.0.0.1:notaport/native",
            False,
            id="loopback with a broken port does not match",
        ),
    ],
)
def test_a_requested_redirect_uri_matches_exactly_or_by_loopback_port(
    requested: str, matched: bool
) -> None:
    expected = requested if matched else None
    assert clients.match_redirect_uri(REGISTERED, requested) == expected


# -- clients and PKCE -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_type", "method", "allowed"),
    [
        pytest.param("public", "none", True, id="a public client authenticates with none"),
        pytest.param(
            "confidential", "client_secret_basic", True, id="a confidential client may use basic"
        ),
        pytest.param(
            "confidential", "private_key_jwt", True, id="a confidential client may use a key"
        ),
        pytest.param(
            "public", "client_secret_post", False, id="a public client cannot hold a secret"
        ),
        pytest.param(
            "confidential", "none", False, id="a confidential client cannot skip authentication"
        ),
        pytest.param(
            "confidential", "client_secret_jwt", False, id="client_secret_jwt is not offered"
        ),
        pytest.param("native", "none", False, id="an unknown client type is refused"),
    ],
)
def test_a_client_type_goes_with_its_authentication_methods(
    client_type: str, method: str, allowed: bool
) -> None:
    if allowed:
        clients.check_client_auth(client_type, method)
        return
    with pytest.raises(InvalidRequest):
        clients.check_client_auth(client_type, method)


# RFC 7636 appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_s256_challenge_of_rfc_7636_appendix_b() -> None:
    assert clients.s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert clients.verify_code_verifier(RFC_VERIFIER, RFC_CHALLENGE, "S256") is True
    clients.check_code_challenge(RFC_CHALLENGE, "S256")


@pytest.mark.parametrize(
    ("challenge", "method", "message"),
    [
        pytest.param(RFC_VERIFIER, "plain", "must be S256", id="plain is refused"),
        pytest.param(RFC_CHALLENGE, "", "must be S256", id="a missing method is refused"),
        pytest.param(RFC_CHALLENGE, "s256", "must be S256", id="a lowercase method is refused"),
        pytest.param(RFC_CHALLENGE[:-1], "S256", "43 base64url", id="a short challenge"),
        pytest.param(RFC_CHALLENGE + "=", "S256", "43 base64url", id="a padded challenge"),
        pytest.param("", "S256", "43 base64url", id="an empty challenge"),
    ],
)
def test_a_code_challenge_is_s256_or_refused(challenge: str, method: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        clients.check_code_challenge(challenge, method)
    assert message in refused.value.description


@pytest.mark.parametrize(
    ("verifier", "challenge", "method"),
    [
        pytest.param(RFC_VERIFIER, RFC_VERIFIER, "plain", id="plain never verifies"),
        pytest.param(RFC_VERIFIER[:-1] + "l", RFC_CHALLENGE, "S256", id="another verifier"),
        pytest.param(
            "a" * 42, clients.s256_challenge("a" * 42), "S256", id="42 characters are too few"
        ),
        pytest.param(
            "a" * 129, clients.s256_challenge("a" * 129), "S256", id="129 characters are too many"
        ),
        pytest.param(
            "a" * 42 + "+",
            clients.s256_challenge("a" * 42 + "+"),
            "S256",
            id="a reserved character is refused",
        ),
        pytest.param("", clients.s256_challenge(""), "S256", id="an empty verifier"),
    ],
)
def test_a_bad_code_verifier_is_refused(verifier: str, challenge: str, method: str) -> None:
    assert clients.verify_code_verifier(verifier, challenge, method) is False


@pytest.mark.parametrize("length", [43, 128])
def test_a_verifier_of_either_bound_length_verifies(length: int) -> None:
    verifier = ("abcXYZ019-._~" * 10)[:length]
    challenge = clients.s256_challenge(verifier)
    assert clients.verify_code_verifier(verifier, challenge, "S256") is True


# -- signing keys ---------------------------------------------------------------------------


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def uint(text: str) -> int:
    return int.from_bytes(b64decode(text), "big")


def verify_with_jwk(jwk: dict[str, str], data: bytes, signature: str) -> None:
    """Verification from the published JWK alone, as a relying party does it."""
    sig = b64decode(signature)
    if jwk["kty"] == "OKP":
        Ed25519PublicKey.from_public_bytes(b64decode(jwk["x"])).verify(sig, data)
    elif jwk["kty"] == "EC":
        point = ec.EllipticCurvePublicNumbers(uint(jwk["x"]), uint(jwk["y"]), ec.SECP256R1())
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        point.public_key().verify(der, data, ec.ECDSA(hashes.SHA256()))
    else:
        public = rsa.RSAPublicNumbers(uint(jwk["e"]), uint(jwk["n"])).public_key()
        public.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    ("alg", "members", "signature_bytes"),
    [
        pytest.param(EDDSA, {"kty": "OKP", "crv": "Ed25519"}, 64, id="EdDSA with Ed25519"),
        pytest.param(ES256, {"kty": "EC", "crv": "P-256"}, 64, id="ES256 with P-256 as r||s"),
        pytest.param(RS256, {"kty": "RSA", "e": "AQAB"}, 256, id="RS256 with RSA 2048"),
    ],
)
def test_each_algorithm_signs_what_its_public_jwk_verifies(
    alg: str, members: dict[str, str], signature_bytes: int
) -> None:
    key = new_signing_key(f"key_{alg}", NOW, alg)
    data = b"header.payload"
    signature = key.sign(data)
    jwk = key.public_jwk()
    assert {k: jwk[k] for k in members} == members
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == (f"key_{alg}", alg, "sig")
    assert "d" not in jwk and "p" not in jwk  # nothing private is published
    assert len(b64decode(signature)) == signature_bytes
    if alg == ES256:
        assert len(b64decode(jwk["x"])) == len(b64decode(jwk["y"])) == 32
    if alg == RS256:
        assert len(b64decode(jwk["n"])) == 256  # 2048 bits
    verify_with_jwk(jwk, data, signature)
    with pytest.raises(InvalidSignature):
        verify_with_jwk(jwk, b"header.payload2", signature)


def test_an_existing_caller_still_builds_an_eddsa_key_positionally() -> None:
    made = new_signing_key("key_1", NOW)
    legacy = SigningKey("key_1", made.private_pem, NOW)
    assert (legacy.alg, legacy.activates_at, legacy.retired_at, legacy.expires_at) == (
        "EdDSA",
        NOW,
        None,
        None,
    )
    verify_with_jwk(legacy.public_jwk(), b"x", legacy.sign(b"x"))


def test_a_key_labelled_with_another_algorithm_is_refused() -> None:
    rsa_pem = new_signing_key("key_rsa", NOW, RS256).private_pem
    with pytest.raises(ValueError, match="not an EdDSA key"):
        SigningKey("key_rsa", rsa_pem, NOW).sign(b"x")
    with pytest.raises(ValueError, match="unsupported"):
        SigningKey("key_hs", rsa_pem, NOW, alg="HS256")


def test_rotation_signs_with_the_newest_active_key_and_publishes_until_expiry() -> None:
    pem = new_signing_key("k", NOW).private_pem

    def key(kid: str, alg: str = EDDSA, **times: datetime | None) -> SigningKey:
        return SigningKey(kid, pem if alg == EDDSA else rsa_pem, NOW, alg, **times)

    rsa_pem = new_signing_key("r", NOW, RS256).private_pem
    hour, day = timedelta(hours=1), timedelta(days=1)
    gone = key(
        "gone", activates_at=NOW - 30 * day, retired_at=NOW - 20 * day, expires_at=NOW - 10 * day
    )
    old = key("old", activates_at=NOW - 10 * day, retired_at=NOW, expires_at=NOW + 7 * day)
    current = key("current", activates_at=NOW)
    upcoming = key("upcoming", activates_at=NOW + day)
    rs = key("rs", RS256, activates_at=NOW - day)
    keys = [gone, old, current, upcoming, rs]

    assert current_signing_key(keys, EDDSA, NOW - hour) == old
    assert current_signing_key(keys, EDDSA, NOW) == current  # retirement and activation meet
    assert current_signing_key(keys, EDDSA, NOW + day - hour) == current
    assert current_signing_key(keys, EDDSA, NOW + day) == upcoming
    assert current_signing_key(keys, RS256, NOW) == rs
    assert current_signing_key(keys, ES256, NOW) is None
    assert current_signing_key([old], EDDSA, NOW) is None  # retired keys never sign

    assert published_keys(keys, NOW + hour) == [old, current, upcoming, rs]
    assert published_keys(keys, NOW + 7 * day) == [current, upcoming, rs]
