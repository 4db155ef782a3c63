"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; the MCP
authorization specification of 2025-11-25): a client that was never registered names itself
by an HTTPS URL as its ``client_id``, and the JSON found at that URL describes it.

The rules are here, pure: which URLs may be a client id (section 3), which addresses the
provider may fetch from (the draft's security considerations: a client id chosen by anyone
must not make the provider reach into its own network), how long a document is kept, and what
a document must say (section 4: its ``client_id`` is its own URL, character for character).
The fetching itself is a port, :class:`DocumentFetcher`, whose adapter
(``storage/client_documents.py``) does the network part.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from leadexec_signin.core.actions.apps import APP_ID
from leadexec_signin.core.apps import Application
from leadexec_signin.core.clients import LOOPBACK_HOSTS
from leadexec_signin.core.errors import InvalidClient
from leadexec_signin.core.ports import Apps
from leadexec_signin.core.self_registered import metadata_document_app_id

# A document larger than this is refused, read no further (the draft suggests 5 KB: a client
# needs a name, a few redirect URIs and links).
MAX_BYTES = 5 * 1024
# The whole fetch, from name resolution to the last byte, in seconds: a person is waiting.
FETCH_SECONDS = 2.5
# How long a fetched document is used before it is fetched again: the document's
# Cache-Control max-age, held between these bounds (a client cannot make us fetch it on every
# request, nor keep a removed redirect URI alive for days).
MIN_CACHE, DEFAULT_CACHE, MAX_CACHE = 300, 3600, 86400
MAX_URL = 2048
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.I)


class DocumentRefused(Exception):
    """The document could not be used: fetched from a refused address, redirected, too large,
    too slow, not JSON, or saying something it may not. ``str()`` is the reason, for the
    person or client told."""


class DocumentUnreachable(DocumentRefused):
    """The document's host did not answer in time, does not resolve, or refused the
    connection: its other URLs would fare no better, so the host is remembered as failing."""


class DocumentBusy(DocumentRefused):
    """Refused without trying: this process is already fetching as many documents as it
    allows (or one from the same host). Not remembered: trying again later may work."""


@dataclass(frozen=True)
class FetchedDocument:
    body: bytes
    cache_control: str = ""


class DocumentFetcher(Protocol):
    """The network part: GET the URL from an address :func:`address_allowed` accepts (the
    address it connects to is the one it checked), follow no redirect, stop after
    :data:`MAX_BYTES` and :data:`FETCH_SECONDS`. Raises :class:`DocumentRefused`."""

    def fetch(self, url: str) -> FetchedDocument: ...


def on_loopback(issuer: str) -> bool:
    """Whether this provider runs on the developer's own machine: then (and only then) a
    client id may be an ``http://localhost`` URL and a document may come from loopback."""
    return (urlsplit(issuer).hostname or "") in LOOPBACK_HOSTS


def looks_like_url(client_id: str) -> bool:
    """A client id that names a document rather than a registered application."""
    return client_id.startswith(("https://", "http://"))


def check_client_id_url(url: str, *, development: bool) -> str:
    """Section 3: https, a path, no dot segments, no fragment, no credentials; a query is
    refused too (the draft discourages it, and one document per client is simpler to
    reason about). ``http`` on a loopback host only in ``development``."""
    if len(url) > MAX_URL or not url.isascii() or not url.isprintable() or " " in url:
        raise DocumentRefused(f"A client_id URL is at most {MAX_URL} printable ASCII characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise DocumentRefused("The client_id is not a valid URL.") from None
    host = (parts.hostname or "").lower()
    loopback_http = parts.scheme == "http" and host in LOOPBACK_HOSTS and development
    if parts.scheme != "https" and not loopback_http:
        raise DocumentRefused("A client_id URL must use https.")
    if not host or parts.username is not None or parts.password is not None:
        raise DocumentRefused("A client_id URL names a host and carries no credentials.")
    if "#" in url or parts.query or "?" in url:
        raise DocumentRefused("A client_id URL has no query string and no fragment.")
    segments = parts.path.split("/")
    if parts.path in ("", "/") or any(s in (".", "..") for s in segments):
        raise DocumentRefused("A client_id URL has a path, without . or .. segments.")
    return url


def address_allowed(address: str, *, development: bool) -> bool:
    """Whether the provider may connect to ``address`` for a document: a public unicast
    address. Private, loopback, link-local, multicast, reserved, shared and unspecified ones
    are refused, with their IPv6 disguises (IPv4-mapped, NAT64, 6to4, Teredo) read as the
    IPv4 address inside; in ``development`` loopback alone is allowed as well."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    inner: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            inner.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            inner.append(ip.sixtofour)
        if ip.teredo is not None:
            inner.extend(ip.teredo)
        if ip in _NAT64:
            inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(_public(one, development) for one in inner)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, development: bool) -> bool:
    if ip.is_loopback:
        return development
    if ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved:
        return False
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return False
    return ip.is_global  # also refuses 100.64.0.0/10 (shared) and the documentation ranges


def cache_seconds(cache_control: str) -> int:
    """How long to keep a document: its ``max-age``, within [MIN_CACHE, MAX_CACHE];
    ``no-store``/``no-cache`` or none given: the bounds' minimum and the default."""
    value = cache_control.lower()
    if "no-store" in value or "no-cache" in value:
        return MIN_CACHE
    found = _MAX_AGE.search(value)
    if found is None:
        return DEFAULT_CACHE
    return max(MIN_CACHE, min(MAX_CACHE, int(found.group(1))))


def read_document(url: str, fetched: FetchedDocument) -> Mapping[str, object]:
    """Section 4: a JSON object whose ``client_id`` is exactly ``url``, and with no shared
    secret in it (a document is public: a secret there is no secret). What the metadata may
    be is checked afterwards, as for every self-registered client."""
    if len(fetched.body) > MAX_BYTES:
        raise DocumentRefused(f"The document is larger than {MAX_BYTES // 1024} KB.")
    try:
        raw = json.loads(fetched.body)
    except ValueError:
        raise DocumentRefused("The document is not JSON.") from None
    if not isinstance(raw, dict):
        raise DocumentRefused("The document is not a JSON object.")
    if raw.get("client_id") != url:
        raise DocumentRefused(
            "The document's client_id is not the URL it was fetched from, character for character."
        )
    if "client_secret" in raw or "client_secret_expires_at" in raw:
        raise DocumentRefused("A client metadata document cannot carry a client_secret.")
    return raw


def refused_client(exc: DocumentRefused | Exception) -> InvalidClient:
    """The token endpoint's and PAR's words for a document that cannot be used."""
    return InvalidClient(f"The client's metadata document cannot be used: {exc}")


def client_key(client_id: str) -> str:
    """The application id a client id designates: a document's URL is stored under an id
    derived from it (``metadata_document_app_id``), every other client under its own."""
    return metadata_document_app_id(client_id) if looks_like_url(client_id) else client_id


def lookup_client(tx: Apps, client_id: str, *, documents: bool) -> Application | None:
    """The application a request's ``client_id`` names, wherever one is looked up
    (authorize, PAR, the token endpoint): a registered application by its id, a document's
    client by its URL while the operator accepts documents. A document's client is never
    found by its derived id: it names itself by its URL, so a request that skipped the
    document (its fetch and checks) finds nothing."""
    if APP_ID.fullmatch(client_id):
        app = tx.app_by_id(client_id)
        return app if app is not None and not app.client_id_url else None
    if documents and looks_like_url(client_id) and len(client_id) <= MAX_URL:
        app = tx.app_by_id(metadata_document_app_id(client_id))
        return app if app is not None and app.client_id_url == client_id else None
    return None
