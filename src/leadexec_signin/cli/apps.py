"""``apps create|client|approve|reject|suspend|reinstate|rotate-secret|list``: partner applications,
their OAuth 2.1 / OpenID Connect registration and their approval."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from leadexec_signin.cli.terminal import JsonFlag, Subcommands, emit
from leadexec_signin.compose import build_migrated
from leadexec_signin.core.actions.console import SECRET_GRACE
from leadexec_signin.core.apps import Application
from leadexec_signin.core.clients import (
    ACCESS_TOKEN_FORMATS,
    AUTH_METHODS,
    CLIENT_TYPES,
    ID_TOKEN_ALGS,
    MAX_JWKS,
    OPAQUE,
    ClientRegistration,
)
from leadexec_signin.core.errors import InvalidRequest, NotFound
from leadexec_signin.settings import Settings


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
        "requireMfa": app.require_mfa,
        "dpopBoundAccessTokens": app.dpop_bound_access_tokens,
        "deviceGrant": app.device_grant,
        "pkce": "optional" if app.pkce_optional else "required",
        "requirePar": app.require_par,
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
        require_mfa=args.require_mfa,
        dpop_bound_access_tokens=args.dpop_bound_access_tokens,
        device_grant=args.device_grant,
        pkce_optional=args.pkce == "optional",
        require_par=args.require_par,
        id_token_alg=args.id_token_alg,
    )


def cmd_apps_create(args: argparse.Namespace, settings: Settings) -> int:
    app, secret = build_migrated(settings).registry.register(
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
    app = build_migrated(settings).operator.act(args.app_id, args.action, actor="cli")
    emit(args, app_json(app), f"{app.id} is now {app.status}.")
    return 0


def cmd_apps_reject(args: argparse.Namespace, settings: Settings) -> int:
    app = build_migrated(settings).operator.reject(args.app_id, args.reason, actor="cli")
    told = "its owner was emailed the reason" if app.owner_id else "it has no owner to email"
    emit(args, app_json(app), f"{app.id} is rejected (now {app.status}); {told}.")
    return 0


def cmd_apps_rotate_secret(args: argparse.Namespace, settings: Settings) -> int:
    grace = SECRET_GRACE[args.grace]
    services = build_migrated(settings)
    before = services.registry.app(args.app_id)
    secret = services.console.rotate_secret(args.app_id, None, grace)
    if before is not None and before.requires_secret:
        what = "new appSecret"
        said = f"the old one keeps working for {args.grace}" if grace else "the old one is refused"
    else:  # a first secret replaces nothing: say what it changed instead
        what = "first appSecret"
        said = (
            "from now on /api/token requires it with every exchange, and the OAuth client is "
            "confidential (client_secret_basic)"
        )
    text = f"{args.app_id}: {what} (shown once, store it now): {secret}\n{said}."
    replaced = before is not None and before.requires_secret
    data = {"appId": args.app_id, "appSecret": secret, "grace": args.grace, "replaced": replaced}
    emit(args, data, text)
    return 0


def cmd_apps_client(args: argparse.Namespace, settings: Settings) -> int:
    app = build_migrated(settings).registry.set_client(args.app_id, client_registration(args))
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
    apps = build_migrated(settings).registry.list_apps()
    # Redirect URIs beside origins: an app may have only those, and they are where codes go.
    lines = [
        f"{a.id}  {a.status:<9}  {a.name}  {' '.join(a.origins + a.redirect_uris)}" for a in apps
    ]
    emit(args, [app_json(a) for a in apps], "\n".join(lines) or "No applications.")
    return 0


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
    sp.add_argument(
        "--require-mfa",
        action="store_true",
        help="its users sign in with a second factor (passkey or authenticator app)",
    )
    sp.add_argument(
        "--dpop-bound-access-tokens",
        action="store_true",
        help="every token request must carry a DPoP proof: tokens bound to its key (RFC 9449)",
    )
    sp.add_argument(
        "--device-grant",
        action="store_true",
        help="allow the device authorization grant: TVs and command-line tools (RFC 8628)",
    )
    sp.add_argument(
        "--pkce",
        choices=("required", "optional"),
        default="required",
        help="optional: a confidential client may leave PKCE out (never a public one)",
    )
    sp.add_argument(
        "--require-par",
        action="store_true",
        help="every authorization request is pushed to /oauth2/par first (RFC 9126)",
    )


def add_parsers(sub: Subcommands, with_json: JsonFlag) -> None:
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
    rj = with_json(
        apps.add_parser(
            "reject", help="refuse an application waiting for approval; the reason is mailed"
        )
    )
    rj.add_argument("app_id", help="the appId")
    rj.add_argument(
        "--reason", required=True, help="what the owner reads (at most 1000 characters)"
    )
    rj.set_defaults(fn=cmd_apps_reject)
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
