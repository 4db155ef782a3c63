"""Seeding and scratch databases for ``bench/run.sh`` (run with the project's .venv).

    seed.py seed --out ids.json --tokens tokens.txt [--users 10000] [--rotating FILE]
        LEADEXEC_* from the environment name the (already migrated) database. One approved
        application with a button (profile,email), one bench user signed in through the popup
        (consent asked, then allowed), then ``--users`` more users each signed in once through
        the same use case. Writes {"app", "refresh", "access", "users"} to ``--out`` and one
        refresh token per line (the bulk users') to ``--tokens``.
        With ``--rotating``: also an approved confidential OAuth client (client_secret_post,
        refresh-token rotation on), and every user signs in to it once through
        ``/oauth2/authorize``'s use case (consent allowed) and the code is exchanged at the
        token endpoint's; the bulk users' refresh tokens go to FILE, one per line, and the
        bench user's (kept apart, for the check that a rotated token is refused) to ``--out``
        as "rotating", with "oauth_client" and "oauth_secret".
    seed.py createdb ADMIN_URL NAME [--template T]   a scratch PostgreSQL database
    seed.py dropdb ADMIN_URL NAME                    drop it (connections forced out)
    seed.py url ADMIN_URL NAME                       ADMIN_URL with its database replaced

Everything goes through ``compose.build`` and the real use cases (accounts, registry,
operator, sessions, sign-in), never through SQL of its own.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path

# Seeding only: a cheap password hash so 10,000 accounts take seconds, not half an hour.
# The server started by run.sh never signs anyone in, so its own argon2 settings don't matter.
os.environ.setdefault("LEADEXEC_ARGON2_TIME_COST", "1")
os.environ.setdefault("LEADEXEC_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("LEADEXEC_ARGON2_PARALLELISM", "1")
# Seeding exchanges thousands of codes a minute for one client (--rotating): lift the token
# endpoint's limits, as the measured server's are.
os.environ.setdefault("LEADEXEC_TOKEN_LIMIT_PER_APP", "100000000/minute")
os.environ.setdefault("LEADEXEC_TOKEN_LIMIT_PER_IP", "100000000/minute")

from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import create_engine, make_url

if TYPE_CHECKING:
    from leadexec_signin.compose import Services
    from leadexec_signin.core.accounts import User
    from leadexec_signin.core.actions.signin import Done

ORIGIN = "http://127.0.0.1:9000"
SCOPES = "profile,email"
REDIRECT_URI = ORIGIN + "/cb"
# As node-oidc-provider's setup flow asks (oidc-provider-setup.mjs).
OAUTH_SCOPE = "openid offline_access email profile"
SAFE_NAME = re.compile(r"^[a-z0-9_]{1,60}$")


def sign_in(p: Services, user: User, button_id: str, *, ask_first: bool) -> Done:
    """The popup as a person uses it: it asks for consent, the person allows what was shown."""
    from leadexec_signin.core.actions.signin import ConsentNeeded, Done, shown_scopes
    from leadexec_signin.core.authorize import AuthorizeRequest

    req = AuthorizeRequest(button_id, ORIGIN, "s", immediate=False)
    session = p.sessions.start(user)
    if ask_first:
        asked = p.signin.popup(req, session, "127.0.0.1")
        assert isinstance(asked, ConsentNeeded), asked
        shown = shown_scopes(asked.ask)
    else:
        # Same use case and transaction, without the read-only "what would you ask" round trip.
        shown = shown_scopes(frozenset(SCOPES.split(",")))
    done = p.signin.popup(req, session, "127.0.0.1", decision="allow", shown=shown)
    assert isinstance(done, Done) and done.authorization.tokens is not None, done
    return done


class OAuthClient(NamedTuple):
    client_id: str
    secret: str


def oauth_client(p: Services) -> OAuthClient:
    """A confidential client as a partner registers one (``apps create --with-secret
    --auth-method client_secret_post --rotate-refresh-tokens``), then approved."""
    from leadexec_signin.core.clients import ClientRegistration

    reg = ClientRegistration(
        redirect_uris=(REDIRECT_URI,),
        auth_method="client_secret_post",
        rotate_refresh_tokens=True,
    )
    app, secret = p.registry.register(
        name="Bench OAuth", origins=[ORIGIN], scopes=SCOPES, with_secret=True, client=reg
    )
    assert secret is not None and app.rotate_refresh_tokens
    p.operator.set_app_status(app.id, "approved")
    return OAuthClient(app.id, secret)


def oauth_sign_in(p: Services, user: User, client: OAuthClient) -> str:
    """The authorization-code flow as a browser and a confidential client run it: the request
    (PKCE S256), the consent dialog allowed, the code exchanged with the client's secret.
    Returns the refresh token."""
    from leadexec_signin.core.actions.authorize_code import AskConsent, SendBack
    from leadexec_signin.core.actions.client_auth import presented
    from leadexec_signin.core.actions.token_endpoint import OAUTH
    from leadexec_signin.core.actions.token_step import TokenRequest
    from leadexec_signin.core.oauth_authorize import OAuthRequest

    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    req = OAuthRequest(
        client_id=client.client_id,
        redirect_uri=REDIRECT_URI,
        response_type="code",
        scope=OAUTH_SCOPE,
        state="s",
        nonce=secrets.token_urlsafe(8),
        code_challenge=challenge.decode().rstrip("="),
        code_challenge_method="S256",
    )
    session = p.sessions.start(user)
    asked = p.authorize_code.run(req, session, "127.0.0.1")
    assert isinstance(asked, AskConsent), asked
    sent = p.authorize_code.run(req, session, "127.0.0.1", decision="allow", shown=asked.shown)
    assert isinstance(sent, SendBack) and "code" in sent.params, sent
    form = {
        "grant_type": "authorization_code",
        "code": sent.params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": client.client_id,
        "client_secret": client.secret,
    }
    issued = p.tokens.exchange(
        TokenRequest(OAUTH, "authorization_code", form, presented(None, form), "127.0.0.1")
    )
    assert issued.refresh_token is not None, issued
    return issued.refresh_token


def seed(out: Path, tokens_file: Path, users: int, rotating: Path | None = None) -> None:
    """Also writes each user's access token beside the refresh tokens (``.access``), for
    the LeadExec API at random (valid for the hour after seeding)."""
    # Imported here so that createdb/dropdb work even when src/ does not import.
    from leadexec_signin.compose import build
    from leadexec_signin.settings import Settings

    settings = Settings.from_env()
    p = build(settings)
    try:
        p.prepare()
        app, _ = p.registry.register(name="Bench", origins=[ORIGIN], scopes=SCOPES)
        p.operator.set_app_status(app.id, "approved")
        button = p.registry.create_button(app_id=app.id, scopes=SCOPES)
        client = oauth_client(p) if rotating else None
        bench = p.accounts.create_user(
            email="bench@example.com",
            name="Bench",
            password="bench-password",  # noqa: S106
        )
        first = sign_in(p, bench, button.id, ask_first=True).authorization
        assert first.tokens is not None
        extra: dict[str, str] = {}
        if client is not None:
            extra = {
                "rotating": oauth_sign_in(p, bench, client),
                "oauth_client": client.client_id,
                "oauth_secret": client.secret,
            }
        started = time.monotonic()
        access_file = tokens_file.with_suffix(".access")
        with (
            tokens_file.open("w") as f,
            access_file.open("w") as a,
            (rotating or Path(os.devnull)).open("w") as r,
        ):
            for i in range(users):
                user = p.accounts.create_user(
                    email=f"bench{i}@example.com",
                    name=f"Bench {i}",
                    password="bench-password",  # noqa: S106
                )
                tokens = sign_in(p, user, button.id, ask_first=False).authorization.tokens
                assert tokens is not None
                f.write(tokens.refresh_token + "\n")
                a.write(tokens.access_token + "\n")
                if client is not None:
                    r.write(oauth_sign_in(p, user, client) + "\n")
                if (i + 1) % 2000 == 0:
                    rate = (i + 1) / (time.monotonic() - started)
                    print(f"   seeded {i + 1}/{users} users ({rate:.0f}/s)", file=sys.stderr)
        ids = {
            "app": app.id,
            "refresh": first.tokens.refresh_token,
            "access": first.tokens.access_token,
            "users": users,
            **extra,
        }
        out.write_text(json.dumps(ids) + "\n")
    finally:
        p.close()


def db_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def createdb(admin_url: str, name: str, template: str | None) -> None:
    for n in (name, template or name):
        if not SAFE_NAME.match(n):
            raise SystemExit(f"refusing database name {n!r}")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{suffix}')
        if not template:
            # A database made to be seeded: its commits need not wait for the disk (seeding
            # 2,000 users took 97 s, 50 s with this). Copies made from it for each server
            # start do not inherit a database's settings, so what is measured is durable.
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    engine.dispose()


def dropdb(admin_url: str, name: str) -> None:
    if not SAFE_NAME.match(name):
        raise SystemExit(f"refusing database name {name!r}")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--tokens", type=Path, required=True)
    s.add_argument("--users", type=int, default=10_000)
    s.add_argument("--rotating", type=Path, help="also seed rotating OAuth refresh tokens")
    c = sub.add_parser("createdb")
    c.add_argument("admin_url")
    c.add_argument("name")
    c.add_argument("--template")
    d = sub.add_parser("dropdb")
    d.add_argument("admin_url")
    d.add_argument("name")
    u = sub.add_parser("url")
    u.add_argument("admin_url")
    u.add_argument("name")
    args = ap.parse_args()
    if args.cmd == "seed":
        seed(args.out, args.tokens, args.users, args.rotating)
    elif args.cmd == "createdb":
        createdb(args.admin_url, args.name, args.template)
    elif args.cmd == "dropdb":
        dropdb(args.admin_url, args.name)
    else:
        print(db_url(args.admin_url, args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
