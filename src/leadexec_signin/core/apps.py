"""Applications, their allowed origins and their sign-in buttons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from leadexec_signin.core import credentials
from leadexec_signin.core.clients import (
    CLIENT_SECRET_BASIC,
    CONFIDENTIAL,
    NONE,
    PUBLIC,
    ClientRegistration,
)
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.i18n import N_

PENDING, APPROVED, SUSPENDED = "pending", "approved", "suspended"
STATUSES = (PENDING, APPROVED, SUSPENDED)

THEMES = ("light", "dark")
SIZES = ("small", "medium", "large")

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


@dataclass(frozen=True)
class Application:
    id: str
    name: str
    owner_id: str | None
    status: str
    scopes: frozenset[str]
    origins: tuple[str, ...]
    secret_hash: str | None = None
    hardened: bool = False
    logo_url: str = ""
    homepage_url: str = ""
    privacy_url: str = ""
    terms_url: str = ""
    notice_url: str = ""
    created_at: datetime | None = None
    # OAuth 2.1 / OpenID Connect client registration (core/clients.py has the rules).
    redirect_uris: tuple[str, ...] = ()
    # "" means "as the secret implies" and is filled in below: confidential with
    # client_secret_basic when there is a secret, else public with none, which is also what
    # the migration gave applications registered before these fields existed.
    client_type: str = ""
    auth_method: str = ""
    jwks_uri: str = ""
    jwks: str | None = None  # the registered JWKS as JSON text, parsed where it is used
    rotate_refresh_tokens: bool = False
    # OpenID Connect RP-Initiated and Back-Channel Logout 1.0; RFC 9068 access tokens.
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str = ""
    id_token_alg: str = "RS256"  # or ES256, EdDSA
    access_token_format: str = "opaque"  # or "jwt"
    # A rotated secret's hash, accepted until the time the partner chose (``rotate_secret``).
    previous_secret_hash: str | None = None
    previous_secret_expires_at: datetime | None = None
    # Two-step sign-in required of its users (migration 0009; core/factors.py).
    require_mfa: bool = False
    # Migration 0011: every token request carries a DPoP proof (RFC 9449 section 5), and
    # the device authorization grant (RFC 8628) is allowed.
    dpop_bound_access_tokens: bool = False
    device_grant: bool = False
    # Migration 0012: a confidential client may leave PKCE out (the OpenID certification
    # plan's requests do); pushed authorization requests (RFC 9126) required.
    pkce_optional: bool = False
    require_par: bool = False
    # Migration 0016 (core/self_registered.py): how the client came, "operator" (a person
    # registered it: console, command line), "dynamic" (RFC 7591) or "metadata_document"
    # (its client_id is the URL ``client_id_url``); the domain it is from; its last use at
    # the authorization endpoint (expiry); an RFC 7592 registration access token's hash.
    kind: str = "operator"
    domain: str = ""
    last_used_at: datetime | None = None
    registration_token_hash: str | None = None
    client_id_url: str = ""

    def __post_init__(self) -> None:
        if not self.client_type:
            kind = CONFIDENTIAL if self.secret_hash is not None else PUBLIC
            object.__setattr__(self, "client_type", kind)
        if not self.auth_method:
            method = CLIENT_SECRET_BASIC if self.client_type == CONFIDENTIAL else NONE
            object.__setattr__(self, "auth_method", method)

    @property
    def requires_secret(self) -> bool:
        return self.secret_hash is not None

    @property
    def reviewed(self) -> bool:
        """False for a client that registered itself: no person at LeadExec looked at it, and
        the consent dialog says so (with its domain)."""
        return self.kind == "operator"

    @property
    def client_id(self) -> str:
        """What the client calls itself: its metadata document's URL, else its id."""
        return self.client_id_url or self.id

    @property
    def registration(self) -> ClientRegistration:
        return ClientRegistration(
            redirect_uris=self.redirect_uris,
            client_type=self.client_type,
            auth_method=self.auth_method,
            jwks_uri=self.jwks_uri,
            jwks=self.jwks,
            post_logout_redirect_uris=self.post_logout_redirect_uris,
            backchannel_logout_uri=self.backchannel_logout_uri,
            access_token_format=self.access_token_format,
            rotate_refresh_tokens=self.rotate_refresh_tokens,
            id_token_alg=self.id_token_alg,
            require_mfa=self.require_mfa,
            dpop_bound_access_tokens=self.dpop_bound_access_tokens,
            device_grant=self.device_grant,
            pkce_optional=self.pkce_optional,
            require_par=self.require_par,
        )

    @property
    def credentials(self) -> AppCredentials:
        return AppCredentials(
            self.id,
            self.status,
            self.secret_hash,
            self.owner_id,
            self.previous_secret_hash,
            self.previous_secret_expires_at,
        )

    @property
    def mode(self) -> str:
        return app_mode(self.status)

    def serves(self, user_id: str) -> bool:
        return serves_user(self.status, self.owner_id, user_id)

    def accepts_secret(self, raw: str, now: datetime) -> bool:
        return self.credentials.accepts_secret(raw, now)


@dataclass(frozen=True)
class AppCredentials:
    """What authenticating an application and checking its tokens needs: no origins, no
    page data, so the hot paths read three columns instead of the whole application."""

    id: str
    status: str
    secret_hash: str | None
    # Development mode needs the owner; a rotation's grace period the secret it replaced.
    owner_id: str | None = None
    previous_secret_hash: str | None = None
    previous_secret_expires_at: datetime | None = None

    @property
    def requires_secret(self) -> bool:
        return self.secret_hash is not None

    def serves(self, user_id: str) -> bool:
        """Whether tokens of this user's grant work: see :func:`serves_user`."""
        return serves_user(self.status, self.owner_id, user_id)

    def accepts_secret(self, raw: str, now: datetime) -> bool:
        return credentials.secret_matches(
            raw,
            self.secret_hash,
            self.previous_secret_hash,
            self.previous_secret_expires_at,
            now,
        )


# A button's words unless its partner chose others. Shown to each visitor in their language
# (the SDK gets it translated with the button's settings); a partner's own words never are.
DEFAULT_BUTTON_TEXT = N_("Sign in with LeadExec")


@dataclass(frozen=True)
class Button:
    id: str
    app_id: str
    scopes: frozenset[str]
    theme: str = "light"
    size: str = "medium"
    text: str = DEFAULT_BUTTON_TEXT
    created_at: datetime | None = None


# Development mode: a pending application works for its owner on these hosts only, over plain
# http on any port. They name the developer's own machine, so no one else's browser reaches
# the owner's page there, and a production origin always needs an operator's approval.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
DEVELOPMENT, PRODUCTION, STOPPED = "development", "production", "suspended"


def app_mode(status: str) -> str:
    """The mode an application's status puts it in, as the console and the popup name it."""
    return {PENDING: DEVELOPMENT, APPROVED: PRODUCTION}.get(status, STOPPED)


def serves_user(status: str, owner_id: str | None, user_id: str) -> bool:
    """Approved: everyone. Pending (development mode): only its owner. Suspended: no one.

    The one rule behind the popup, the silent check, the token exchanges and the API, so a
    partner testing before approval sees every step work, and nobody else does."""
    if status == APPROVED:
        return True
    return status == PENDING and owner_id is not None and owner_id == user_id


def is_loopback_origin(origin: str) -> bool:
    """``http://localhost[:PORT]``, ``http://127.0.0.1[:PORT]`` or ``http://[::1][:PORT]``
    exactly, as browsers spell an origin (lowercase, no path, no trailing slash)."""
    try:
        parts = urlsplit(origin)
        port = parts.port  # raises on a port out of range
    except ValueError:
        return False
    netloc = parts.netloc
    host = netloc if port is None else netloc[: netloc.rindex(":")]
    return parts.scheme == "http" and f"http://{netloc}" == origin and host in LOOPBACK_HOSTS


@dataclass(frozen=True)
class AppActivity:
    """What the console's usage chart is drawn from, as storage reads it since a day."""

    signins: tuple[datetime, ...]  # each sign-in that handed the page tokens or a code
    exchanges: dict[str, int]  # YYYY-MM-DD (UTC) -> token exchanges that day
    grants: tuple[tuple[datetime, datetime | None], ...]  # (given, revoked) still live at since


def normalize_origin(raw: str) -> str:
    """Registration-time canonical form: lowercase ``scheme://host[:port]``, default port
    dropped, exactly what browsers put in ``MessageEvent.origin``. Anything with a path, query,
    credentials or an odd host is refused rather than guessed at."""
    text = (raw or "").strip()
    if len(text) > 255 or not text.isascii():
        raise InvalidRequest("An origin is scheme://host[:port] in ASCII, at most 255 characters.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidRequest(f"Not a valid origin: {text[:80]!r}.") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if (
        scheme not in ("http", "https")
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("",)
        or parts.query
        or parts.fragment
        or host.endswith(".")
        or not (_HOST.fullmatch(host) or _IPV4.fullmatch(host) or host == "::1")
    ):
        raise InvalidRequest(
            f"Not a valid origin: {text[:80]!r}. Use scheme://host[:port] with no path."
        )
    if (
        scheme == "http"
        and host not in ("localhost", "127.0.0.1", "::1")
        and not host.endswith(".localhost")
    ):
        # Tokens are posted to this origin: plain HTTP is only acceptable on loopback.
        raise InvalidRequest("Origins must use https (http is allowed for localhost only).")
    default = {"http": 80, "https": 443}[scheme]
    if host == "::1":
        host = "[::1]"  # the IPv6 loopback, bracketed as browsers write it in an origin
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}"


def check_https_url(raw: str, what: str) -> str:
    """Partner-supplied links (logo, homepage, policies) end up in href/src attributes: only
    http(s) URLs are kept, so ``javascript:`` and ``data:`` can never reach a page."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:  # "https://[" and other broken IPv6 hosts
        raise InvalidRequest(f"The {what} must be an http(s) URL.") from None
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or len(text) > 2048
        or not text.isprintable()  # control characters (NUL cannot even be stored)
    ):
        raise InvalidRequest(f"The {what} must be an http(s) URL.")
    return text


def check_notice_url(raw: str) -> str:
    """The server itself POSTs to this URL, so it must be https to a named host; plain http
    only to loopback for development. Private addresses stay reachable only through names an
    operator approved along with the application (the admin page shows the URL)."""
    text = check_https_url(raw, "disconnect-notice URL")
    if not text:
        return ""
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and host not in ("localhost", "127.0.0.1", "::1"):
        raise InvalidRequest("The disconnect-notice URL must use https.")
    if parts.username or parts.password:
        raise InvalidRequest("The disconnect-notice URL cannot carry credentials.")
    return text


def check_app_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not 1 <= len(name) <= 80:
        raise InvalidRequest("The application name must have 1 to 80 characters.")
    if not name.isprintable():
        raise InvalidRequest("The application name cannot contain control characters.")
    return name
