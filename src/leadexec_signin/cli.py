"""``leadexec-signin``: serve, migrate, and administer users, applications and buttons.

The command line operators use (docs/operations.md). Secrets (passwords) are read from
standard input, never from arguments, so they stay out of shell history and ``ps``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from leadexec_signin import operations
from leadexec_signin.compose import Services, build_migrated, ensure_schema
from leadexec_signin.core.actions.console import SECRET_GRACE
from leadexec_signin.core.apps import DEFAULT_BUTTON_TEXT, Application
from leadexec_signin.core.clients import (
    ACCESS_TOKEN_FORMATS,
    AUTH_METHODS,
    CLIENT_TYPES,
    ID_TOKEN_ALGS,
    MAX_JWKS,
    OPAQUE,
    ClientRegistration,
)
from leadexec_signin.core.errors import InvalidRequest, NotFound, SigninError
from leadexec_signin.logs import configure_logging
from leadexec_signin.settings import Settings
from leadexec_signin.workers import serve as serve_workers


def services_for(settings: Settings) -> Services:
    return build_migrated(settings)


def app_json(app: Application) -> dict[str, object]:
    return {
        "appId": app.id,
        "name": app.name,
        "status": app.status,
        "origins": list(app.origins),
        "scopes": sorted(app.scopes),
        "hasSecret": app.requires_secret,
        "hardened": app.hardened,
        "redirectUris": list(app.redirect_uris),
        "clientType": app.client_type,
        "authMethod": app.auth_method,
        "jwksUri": app.jwks_uri or None,
        # The registered key set itself, not a string holding it, so `jq` can read it.
        "jwks": json.loads(app.jwks) if app.jwks else None,
        "postLogoutRedirectUris": list(app.post_logout_redirect_uris),
        "backchannelLogoutUri": app.backchannel_logout_uri or None,
        "accessTokenFormat": app.access_token_format,
        "idTokenAlg": app.id_token_alg,
        "rotateRefreshTokens": app.rotate_refresh_tokens,
    }


def read_jwks_file(raw: str | None) -> str | None:
    """A bad path is the operator's input error like any other: one line, not a traceback."""
    if not raw:
        return None
    try:
        with Path(raw).open("rb") as f:
            # One byte over the limit is enough for the registration check to refuse it.
            data = f.read(MAX_JWKS + 1)
        return data.decode("utf-8")
    except OSError as exc:
        raise InvalidRequest(f"Cannot read the JWKS file {raw!r}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise InvalidRequest(f"The JWKS file {raw!r} is not UTF-8 JSON.") from None


def client_registration(args: argparse.Namespace) -> ClientRegistration:
    """The OAuth flags as given; the values are checked in the core, so the command line,
    the console and the core refuse the same things with the same words."""
    return ClientRegistration(
        redirect_uris=tuple(args.redirect_uri or ()),
        client_type=args.client_type or "",
        auth_method=args.auth_method or "",
        jwks_uri=args.jwks_uri or "",
        jwks=read_jwks_file(args.jwks_file),
        post_logout_redirect_uris=tuple(args.post_logout_redirect_uri or ()),
        backchannel_logout_uri=args.backchannel_logout_uri or "",
        access_token_format=args.access_token_format,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
        id_token_alg=args.id_token_alg,
    )


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=None if args.json else 2) if args.json else text)


def read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if not os.environ.get("LEADEXEC_ISSUER"):
        # Without a configured public URL, the issuer is where this server listens: the
        # console's snippet then names this server, not the default port. Set in the
        # environment so every worker process reads the same.
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
        os.environ["LEADEXEC_ISSUER"] = f"http://{host}:{args.port}"
        settings = settings.with_changes(issuer=os.environ["LEADEXEC_ISSUER"])
        if args.host != host:
            print(
                "note: set LEADEXEC_ISSUER to this server's public URL; partners' snippets "
                f"name {settings.issuer} until you do",
                file=sys.stderr,
            )
    ensure_schema(settings, always=args.migrate)
    banner = (
        f"LeadExec Sign-In on http://{args.host}:{args.port} (issuer {settings.issuer}, "
        f"database {settings.database_label})"
    )
    if settings.log_format == "json":  # every line a JSON object, this one too
        logging.getLogger("leadexec_signin.cli").info("%s", banner)
    else:
        print(banner, flush=True)
    # Set in the environment before any worker starts: each one's counts go to files there,
    # and whichever worker answers /metrics adds them all up.
    folder = metrics_folder(args.workers) if settings.metrics_token else None
    # uvicorn stops on SIGTERM after the requests in flight (and the notice being sent), then
    # raises the signal again for whatever handler was there before it: this one makes that
    # a clean exit (0) instead of death by signal. Before uvicorn starts, it stops the start.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    config = {
        "app": "leadexec_signin.asgi:app_from_env",
        "factory": True,
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "log_config": None,
        "proxy_headers": settings.trust_proxy,
        "server_header": False,
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
    }
    try:
        if args.workers > 1:  # a listening socket per worker (workers.py says why)
            return serve_workers(config, args.workers, settings.shutdown_grace_seconds)
        uvicorn.run(**config)  # type: ignore[arg-type]
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def metrics_folder(workers: int) -> Path | None:
    """The multiprocess folder of this ``serve``: one of its own (``serve-<pid>``), emptied at
    start, since files left by an earlier run would be added to this one's counts. Under
    ``PROMETHEUS_MULTIPROC_DIR`` if the operator set it, else in the temporary folder.
    None for a single process: it answers /metrics from its own memory, or from the
    operator's folder if the library was started with one."""
    from leadexec_signin.metrics import multiprocess

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if workers <= 1:
        if given and multiprocess():
            # This very process counts, into files it opened when the library was imported:
            # the folder stays, and only the files of processes gone are removed.
            for old in Path(given).glob("*_*.db"):
                pid = old.stem.rpartition("_")[2]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    old.unlink(missing_ok=True)
        return None
    base = Path(given) if given else Path(tempfile.gettempdir()) / "leadexec-signin-metrics"
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("serve-*"):  # left by a serve that was killed: its pid is gone
        pid = old.name.removeprefix("serve-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = base / f"serve-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    ensure_schema(settings, always=True)
    emit(args, {"migrated": True}, f"{settings.database_label} is at the latest schema.")
    return 0


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    password = read_secret("Password: ")
    user = services_for(settings).accounts.create_user(
        email=args.email,
        name=args.name,
        password=password,
        company=args.company or "",
        plan=args.plan or "",
        timezone=args.timezone or "UTC",
        locale=args.locale or "en-US",
        operator=args.operator,
    )
    data = {"id": user.id, "email": user.email, "name": user.name, "operator": user.is_operator}
    emit(args, data, f"Created user {user.email} ({user.id}).")
    return 0


def cmd_apps_create(args: argparse.Namespace, settings: Settings) -> int:
    app, secret = services_for(settings).registry.register(
        name=args.name,
        origins=args.origin or [],
        scopes=args.scopes,
        with_secret=args.with_secret or args.hardened,
        hardened=args.hardened,
        logo_url=args.logo or "",
        homepage_url=args.homepage or "",
        privacy_url=args.privacy or "",
        terms_url=args.terms or "",
        notice_url=args.notice_url or "",
        client=client_registration(args),
    )
    data = {**app_json(app), "appSecret": secret}
    text = f"Created application {app.name}: appId {app.id} (pending approval)."
    if secret:
        text += f"\nappSecret (shown once, store it now): {secret}"
    emit(args, data, text)
    return 0


def cmd_apps_status(args: argparse.Namespace, settings: Settings) -> int:
    app = services_for(settings).operator.act(args.app_id, args.action, actor="cli")
    emit(args, app_json(app), f"{app.id} is now {app.status}.")
    return 0


def cmd_apps_rotate_secret(args: argparse.Namespace, settings: Settings) -> int:
    grace = SECRET_GRACE[args.grace]
    secret = services_for(settings).console.rotate_secret(args.app_id, None, grace)
    kept = f"the old one keeps working for {args.grace}" if grace else "the old one is refused"
    text = f"{args.app_id}: new appSecret (shown once, store it now): {secret}\n{kept}."
    emit(args, {"appId": args.app_id, "appSecret": secret, "grace": args.grace}, text)
    return 0


def cmd_apps_client(args: argparse.Namespace, settings: Settings) -> int:
    app = services_for(settings).registry.set_client(args.app_id, client_registration(args))
    text = (
        f"{app.id}: OAuth registration saved ({app.client_type} client, {app.auth_method}, "
        f"{len(app.redirect_uris)} redirect URI(s))."
    )
    emit(args, app_json(app), text)
    return 0


def cmd_apps_list(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.database_url and not settings.embedded_database.exists():
        # Run from another folder, the embedded default would be a new empty database.
        raise NotFound(
            f"No database at {settings.embedded_database}. Run this where the "
            "server runs, or set LEADEXEC_DATA_DIR (or LEADEXEC_DATABASE_URL)."
        )
    apps = services_for(settings).registry.list_apps()
    # Redirect URIs beside origins: an app may have only those, and they are where codes go.
    lines = [
        f"{a.id}  {a.status:<9}  {a.name}  {' '.join(a.origins + a.redirect_uris)}" for a in apps
    ]
    emit(args, [app_json(a) for a in apps], "\n".join(lines) or "No applications.")
    return 0


def cmd_buttons_create(args: argparse.Namespace, settings: Settings) -> int:
    button = services_for(settings).registry.create_button(
        app_id=args.app, scopes=args.scopes, theme=args.theme, size=args.size, text=args.text
    )
    data = {
        "btnId": button.id,
        "appId": button.app_id,
        "scopes": sorted(button.scopes),
        "theme": button.theme,
        "size": button.size,
    }
    emit(args, data, f"Created button {button.id} for {button.app_id}.")
    return 0


def cmd_grants_revoke(args: argparse.Namespace, settings: Settings) -> int:
    services_for(settings).revocation.by_operator(args.app, args.user, actor="cli")
    emit(args, {"revoked": True}, f"Access of {args.user} to {args.app} removed.")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from leadexec_signin.demo import run_demo

    return run_demo(settings, host=args.host, port=args.port, partner_port=args.partner_port)


def add_client_flags(sp: argparse.ArgumentParser) -> None:
    """The OAuth 2.1 / OpenID Connect registration, the same for ``apps create`` and
    ``apps client``. No argparse ``choices``: a bad value is refused by the core in one line,
    as every other bad value is, instead of argparse's usage block."""
    sp.add_argument(
        "--redirect-uri",
        action="append",
        metavar="URI",
        help="OAuth redirect URI (https, http on loopback, or com.example.app:/path); repeat",
    )
    sp.add_argument(
        "--client-type",
        metavar="|".join(CLIENT_TYPES),
        help="default: confidential with a secret or keys, else public",
    )
    sp.add_argument(
        "--auth-method",
        metavar="|".join(AUTH_METHODS),
        help="how the client authenticates at the token endpoint (default follows the type)",
    )
    sp.add_argument("--jwks-uri", metavar="URI", help="https URL of the client's public keys")
    sp.add_argument(
        "--jwks-file", metavar="PATH", help='JSON file {"keys": [...]} of the client\'s public keys'
    )
    sp.add_argument(
        "--post-logout-redirect-uri",
        action="append",
        metavar="URI",
        help="where RP-initiated logout may return; repeat for more",
    )
    sp.add_argument(
        "--backchannel-logout-uri", metavar="URI", help="https URL that receives logout tokens"
    )
    sp.add_argument(
        "--access-token-format",
        default=OPAQUE,
        metavar="|".join(ACCESS_TOKEN_FORMATS),
        help="opaque (default) or jwt (RFC 9068)",
    )
    sp.add_argument(
        "--id-token-alg",
        default=ID_TOKEN_ALGS[0],
        metavar="|".join(ID_TOKEN_ALGS),
        help=f"ID token signature algorithm (default {ID_TOKEN_ALGS[0]})",
    )
    sp.add_argument(
        "--rotate-refresh-tokens",
        action="store_true",
        help="a new refresh token at each use (always on for public clients)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadexec-signin", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def with_json(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--json", action="store_true", help="print machine-readable JSON")
        return sp

    serve = sub.add_parser("serve", help="run the identity provider")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="server processes (use the cores)")
    serve.add_argument("--migrate", action="store_true", help="migrate a configured database")
    serve.set_defaults(fn=cmd_serve)

    demo = sub.add_parser("demo", help="provider + sample partner site, seeded")
    demo.add_argument("--host", default="127.0.0.1", help="address of both sites")
    demo.add_argument("--port", type=int, default=8000, help="the identity provider's port")
    demo.add_argument("--partner-port", type=int, default=8001, help="the partner site's port")
    demo.set_defaults(fn=cmd_demo)

    with_json(sub.add_parser("migrate", help="bring the database schema up to date")).set_defaults(
        fn=cmd_migrate
    )

    users = sub.add_parser("users", help="LeadExec accounts").add_subparsers(
        dest="users_command", required=True
    )
    uc = with_json(users.add_parser("create", help="create a user; password on stdin"))
    uc.add_argument("--email", required=True, help="sign-in email (unique)")
    uc.add_argument("--name", required=True, help="display name")
    uc.add_argument("--company", help="company (released by the account scope)")
    uc.add_argument("--plan", help="LeadExec plan (released by the account scope)")
    uc.add_argument("--timezone", help="IANA time zone, e.g. Europe/Paris (default UTC)")
    uc.add_argument("--locale", help="locale, e.g. fr-FR (default en-US)")
    uc.add_argument("--operator", action="store_true", help="may approve apps at /admin")
    uc.set_defaults(fn=cmd_users_create)

    apps = sub.add_parser("apps", help="partner applications").add_subparsers(
        dest="apps_command", required=True
    )
    ac = with_json(apps.add_parser("create", help="register an application (pending)"))
    ac.add_argument("--name", required=True, help="shown to people on the consent dialog")
    ac.add_argument(
        "--origin",
        action="append",
        help="JavaScript origin; repeat for more (optional with --redirect-uri)",
    )
    ac.add_argument("--scopes", required=True, help="allowed scopes, e.g. profile,email")
    ac.add_argument("--with-secret", action="store_true", help="make an appSecret (shown once)")
    ac.add_argument("--hardened", action="store_true", help="deliver a code, not tokens")
    ac.add_argument("--logo", help="https URL of the logo on the consent dialog")
    ac.add_argument("--homepage", help="https URL of the application's home page")
    ac.add_argument("--privacy", help="https URL of its privacy policy")
    ac.add_argument("--terms", help="https URL of its terms")
    ac.add_argument("--notice-url", help="https URL that receives signed disconnect notices")
    add_client_flags(ac)
    ac.set_defaults(fn=cmd_apps_create)
    cc = with_json(
        apps.add_parser(
            "client",
            help="replace an application's OAuth registration (flags left out are reset)",
        )
    )
    cc.add_argument("app_id", help="the appId (also the OAuth client_id)")
    add_client_flags(cc)
    cc.set_defaults(fn=cmd_apps_client)
    for action, words in (
        ("approve", "let the application sign users in"),
        ("suspend", "stop it; its tokens stop working at once"),
        ("reinstate", "approve a suspended application again"),
    ):
        sp = with_json(apps.add_parser(action, help=words))
        sp.add_argument("app_id", help="the appId")
        sp.set_defaults(fn=cmd_apps_status, action=action)
    rs = with_json(
        apps.add_parser("rotate-secret", help="a new appSecret; the old one for a grace period")
    )
    rs.add_argument("app_id", help="the appId")
    rs.add_argument(
        "--grace",
        choices=list(SECRET_GRACE),
        default="0",
        help="how long the old secret keeps working (default 0: refused at once, for a leak)",
    )
    rs.set_defaults(fn=cmd_apps_rotate_secret)
    with_json(apps.add_parser("list", help="every application and its status")).set_defaults(
        fn=cmd_apps_list
    )

    buttons = sub.add_parser("buttons", help="sign-in buttons").add_subparsers(
        dest="buttons_command", required=True
    )
    bc = with_json(buttons.add_parser("create", help="a button for an application"))
    bc.add_argument("--app", required=True, help="the appId")
    bc.add_argument("--scopes", required=True, help="scopes the button asks for")
    bc.add_argument("--theme", default="light", help="light or dark")
    bc.add_argument("--size", default="medium", help="small, medium or large")
    bc.add_argument("--text", default=DEFAULT_BUTTON_TEXT, help="the button's words")
    bc.set_defaults(fn=cmd_buttons_create)

    grants = sub.add_parser("grants", help="users' access to applications").add_subparsers(
        dest="grants_command", required=True
    )
    gr = with_json(grants.add_parser("revoke", help="remove a user's access to an application"))
    gr.add_argument("--app", required=True, help="the appId")
    gr.add_argument("--user", required=True, help="the user's email")
    gr.set_defaults(fn=cmd_grants_revoke)
    # The operators' commands: audit export, keys, backup and restore.
    operations.add_parsers(sub, with_json)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings)
    try:
        code = int(args.fn(args, settings))
        quiet = getattr(args, "json", False) or getattr(args, "data_on_stdout", False)
        if args.fn not in (cmd_serve, cmd_demo, cmd_migrate) and not quiet:
            # Said after the answer, so a command run from the wrong folder is noticed.
            print(f"(database: {settings.database_label})")
        return code
    except SigninError as exc:
        body = {"error": exc.code, "errorMessage": exc.description}
        if getattr(args, "json", False):
            print(json.dumps(body))
        else:
            print(f"error: {exc.description} ({exc.code})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
