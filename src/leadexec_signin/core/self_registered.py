"""Clients that register themselves (AI agents, MCP clients): RFC 7591 dynamic registration and
Client ID Metadata Documents (an HTTPS URL as ``client_id`` whose JSON describes the client).

What is theirs: a kind that says how they came (``operator`` for every client a person
registered, ``dynamic``, ``metadata_document``), the domain they are from (shown on consent,
and what an operator blocks), and the metadata they may register, checked here once for both
ways in (RFC 7591 section 2). They are public clients with PKCE and stay unreviewed: the
consent dialog says so, and the scopes they may have are the operator's choice.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from leadexec_signin.core.apps import Application, check_app_name
from leadexec_signin.core.clients import LOOPBACK_HOSTS, MAX_URIS, check_redirect_uri
from leadexec_signin.core.errors import (
    InvalidClientMetadata,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
)
from leadexec_signin.core.scopes import PROTOCOL_SCOPES, SCOPES

OPERATOR, DYNAMIC, METADATA_DOCUMENT = "operator", "dynamic", "metadata_document"
KINDS = (OPERATOR, DYNAMIC, METADATA_DOCUMENT)
SELF_REGISTERED = (DYNAMIC, METADATA_DOCUMENT)

# What such a client is: public, authorization code (+ refresh), PKCE S256 always.
GRANT_TYPES = ("authorization_code", "refresh_token")
LOCALHOST = "localhost"  # the domain of a client whose redirect URIs are all loopback
MAX_DOMAIN = 253


@dataclass(frozen=True)
class ClientMetadata:
    """RFC 7591 section 2 metadata of a self-registered client, checked. ``client_id`` is a
    metadata document's URL (it is its client id); empty for dynamic registration."""

    redirect_uris: tuple[str, ...]
    client_name: str
    scopes: frozenset[str]  # what it may ask for: data scopes and openid / offline_access
    domain: str
    grant_types: tuple[str, ...] = ("authorization_code",)
    logo_uri: str = ""
    client_uri: str = ""
    policy_uri: str = ""
    tos_uri: str = ""
    client_id: str = ""

    @property
    def data_scopes(self) -> frozenset[str]:
        return self.scopes & SCOPES.keys()

    @property
    def scope(self) -> str:
        """As RFC 7591 spells it: space-separated, in the catalog's order."""
        return " ".join(s for s in (*PROTOCOL_SCOPES, *SCOPES) if s in self.scopes)


# "Last used" is written at most this often per client: expiry counts in days.
TOUCH_EVERY = timedelta(days=1)


def check_scopes_allowed(
    app: Application, data: frozenset[str], protocol: frozenset[str], allowed: frozenset[str]
) -> None:
    """At the authorization endpoint: a self-registered client asks only for what the
    operator allows such clients now (the setting may have narrowed since it registered);
    a client a person registered is not concerned."""
    if app.reviewed:
        return
    refused = (data | protocol) - allowed
    if refused:
        raise InvalidScope(
            "This application registered itself and may not ask for: "
            f"{' '.join(sorted(refused))[:100]}."
        )


def scopes_still_allowed(
    app: Application | None, scopes: frozenset[str], allowed: frozenset[str]
) -> frozenset[str]:
    """At the token endpoint (a code exchanged, a refresh): what a self-registered client is
    given of ``scopes`` is only what the operator allows such clients now, so narrowing
    ``LEADEXEC_SELF_REGISTERED_SCOPES`` reaches the tokens of clients already consented to,
    not just their next authorization request. A client a person registered keeps what it
    was granted."""
    if app is None or app.reviewed:
        return scopes
    return scopes & allowed


def needs_touch(app: Application, now: datetime) -> bool:
    return not app.reviewed and (app.last_used_at is None or now - app.last_used_at > TOUCH_EVERY)


def domain_of(url: str) -> str:
    """The host a URL is on, lowercased; every loopback address is ``localhost``."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return LOCALHOST if host in LOOPBACK_HOSTS else host


def check_domain(raw: str) -> str:
    """A domain an operator blocks: a host name (``agent.example``) or ``localhost``; a URL
    is read as its host, so pasting the client's address works too."""
    text = (raw or "").strip().lower()
    host = domain_of(text) if "://" in text else text.rstrip(".")
    labels = host.split(".")
    if (
        not host
        or len(host) > MAX_DOMAIN
        or not host.isascii()
        or not all(lab and len(lab) <= 63 and lab.replace("-", "").isalnum() for lab in labels)
    ):
        raise InvalidRequest("A domain is a host name such as agent.example.")
    return host


def is_blocked(domain: str, blocked: frozenset[str] | set[str]) -> bool:
    """Blocking ``agent.example`` blocks its subdomains too: whoever controls the domain
    controls them, and a block one label deep would be no block at all."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in blocked for i in range(len(labels)))


def metadata_document_app_id(client_id_url: str) -> str:
    """The application id a metadata document's URL is stored under: derived, so the URL (up
    to 2 KB) needs no lookup table and every process finds the same row."""
    digest = hashlib.sha256(client_id_url.encode("utf-8")).digest()
    return "app_md_" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _strings(raw: Mapping[str, object], name: str) -> list[str] | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadata(f"{name} must be an array of strings.")
    return value


def _text(raw: Mapping[str, object], name: str) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidClientMetadata(f"{name} must be a string.")
    return value.strip()


def check_self_redirect_uri(uri: str) -> str:
    """https, or http on a loopback address (RFC 8252 section 7.3): nothing else. A private
    scheme (``com.example.app:/cb``) would let any app on the device that claims it receive
    the code, and no one reviewed which one this is."""
    try:
        checked = check_redirect_uri(uri)
    except InvalidRequest as exc:
        raise InvalidRedirectUri(exc.description) from None
    if not checked.startswith(("https://", "http://")):
        raise InvalidRedirectUri(
            "A self-registered client's redirect URIs use https, or http on 127.0.0.1, "
            "[::1] or localhost."
        )
    if not is_host_name(checked):
        raise InvalidRedirectUri(
            "A self-registered client's redirect URIs name their host by a domain name "
            "(an IP address only for loopback), without % or \\ in it."
        )
    return checked


def is_host_name(url: str) -> bool:
    """Whether ``url``'s host is one a person reads, a browser goes to and an operator can
    block as it is written: loopback, or a DNS name of letters, digits and hyphens whose
    last label starts with a letter. Refused: a percent-encoded host (``evil%2Eexample`` is
    evil.example to a browser, but not to a block), a backslash (a browser reads
    ``https://evil.example\\@good.example`` as on evil.example), and IP literals, decimal,
    hexadecimal or bracketed (no block names them)."""
    if "\\" in url:
        return False
    parts = urlsplit(url)
    if "%" in parts.netloc:
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if host in LOOPBACK_HOSTS:
        return True
    labels = host.split(".")
    return (
        0 < len(host) <= MAX_DOMAIN
        and all(lab and len(lab) <= 63 and lab.replace("-", "").isalnum() for lab in labels)
        and host.isascii()
        and labels[-1][0].isalpha()
    )


def hosts_of(domain: str, redirect_uris: tuple[str, ...]) -> set[str]:
    """Every domain a client is from, for blocks: the one it is shown as (its metadata
    document's host, or its redirect URIs' host) and the host of each redirect URI (a
    document may list redirect URIs on other hosts, which is where the codes go)."""
    return {domain} | {domain_of(u) for u in redirect_uris}


def _web_url(raw: Mapping[str, object], name: str) -> str:
    """A link shown to people (logo, homepage, policies): https, or http on loopback; never
    ``javascript:`` or ``data:``."""
    text = _text(raw, name)
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise InvalidClientMetadata(f"{name} must be an https URL.") from None
    loopback = parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    if (
        (parts.scheme != "https" and not loopback)
        or not parts.hostname
        or parts.username is not None
        or len(text) > 2048
        or not text.isascii()
        or not text.isprintable()
    ):
        raise InvalidClientMetadata(f"{name} must be an https URL.")
    return text


def _domain(uris: tuple[str, ...]) -> str:
    """One domain per client, so the consent dialog names it and a block covers it: every
    https redirect URI on the same host (loopback ones may sit beside them)."""
    hosts = {domain_of(u) for u in uris} - {LOCALHOST}
    if len(hosts) > 1:
        raise InvalidRedirectUri(
            "A self-registered client's https redirect URIs must all be on one host."
        )
    return hosts.pop() if hosts else LOCALHOST


def check_client_metadata(
    raw: object, allowed: frozenset[str], *, client_id: str = ""
) -> ClientMetadata:
    """RFC 7591 section 2, for a public client: the metadata of a registration (or of a
    metadata document, whose URL is ``client_id``). Fields we do not use are ignored, as
    section 2 says; ``allowed`` is the operator's scopes for self-registered clients, and the
    scopes left out default to all of them."""
    if not isinstance(raw, Mapping):
        raise InvalidClientMetadata("The client metadata must be a JSON object.")
    uris = _strings(raw, "redirect_uris")
    if not uris:
        raise InvalidRedirectUri("redirect_uris is required: at least one redirect URI.")
    if len(uris) > MAX_URIS:
        raise InvalidRedirectUri(f"At most {MAX_URIS} redirect URIs.")
    redirect_uris = tuple(dict.fromkeys(check_self_redirect_uri(u) for u in uris))
    method = _text(raw, "token_endpoint_auth_method") or "none"
    if method != "none":
        raise InvalidClientMetadata(
            "Only public clients register themselves: token_endpoint_auth_method none "
            "(PKCE S256 is required of every request)."
        )
    grant_types = tuple(dict.fromkeys(_strings(raw, "grant_types") or ["authorization_code"]))
    if set(grant_types) - set(GRANT_TYPES) or "authorization_code" not in grant_types:
        raise InvalidClientMetadata(
            "grant_types may be authorization_code and refresh_token (authorization_code "
            "is required)."
        )
    if set(_strings(raw, "response_types") or ["code"]) != {"code"}:
        raise InvalidClientMetadata('response_types must be ["code"].')
    scope = _text(raw, "scope")
    scopes = frozenset(scope.split()) if scope else allowed
    if scopes - allowed:
        catalog = (*PROTOCOL_SCOPES, *SCOPES)
        raise InvalidClientMetadata(
            "Here self-registered clients may ask only for: "
            f"{' '.join(s for s in catalog if s in allowed)}; "
            f"not {' '.join(sorted(scopes - allowed))[:100]}."
        )
    if client_id and not is_host_name(client_id):
        raise InvalidClientMetadata(
            "A client metadata document's URL names its host by a domain name (an IP "
            "address only for loopback)."
        )
    domain = domain_of(client_id) if client_id else _domain(redirect_uris)
    name = _text(raw, "client_name") or domain
    try:
        name = check_app_name(name)
    except InvalidRequest as exc:
        raise InvalidClientMetadata(exc.description) from None
    return ClientMetadata(
        redirect_uris=redirect_uris,
        client_name=name,
        scopes=scopes,
        domain=domain,
        grant_types=grant_types,
        logo_uri=_web_url(raw, "logo_uri"),
        client_uri=_web_url(raw, "client_uri"),
        policy_uri=_web_url(raw, "policy_uri"),
        tos_uri=_web_url(raw, "tos_uri"),
        client_id=client_id,
    )


@dataclass(frozen=True)
class BlockedDomain:
    domain: str
    blocked_at: datetime
    actor: str


class AppUse(Protocol):
    """A self-registered client's last use (the authorization endpoint writes it)."""

    def touch_app(self, app_id: str, at: datetime) -> None: ...


class SelfRegisteredClients(AppUse, Protocol):
    """The storage port of self-registered clients and blocked domains."""

    def set_self_registered(self, app: Application) -> None:
        """Write what a client's (re-)registration may change: name, links, scopes, domain,
        redirect URIs, last use, registration token hash."""
        ...

    def self_registered_apps(self) -> list[Application]:
        """Every client of a kind other than ``operator``, most recently used first."""
        ...

    def idle_self_registered(self, unused_since: datetime) -> list[str]:
        """Ids of self-registered clients neither registered, used at authorize nor refreshed
        (any grant's last use) since ``unused_since``."""
        ...

    def blocked_domains(self) -> list[BlockedDomain]: ...
    def add_blocked_domain(self, blocked: BlockedDomain) -> bool:
        """False if it was already blocked."""
        ...

    def remove_blocked_domain(self, domain: str) -> bool: ...
