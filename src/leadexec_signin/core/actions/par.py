"""Pushed authorization requests (RFC 9126): a client authenticates at ``/oauth2/par`` and
pushes its authorization request, checked there exactly as ``/oauth2/authorize`` would check
it (``oauth_authorize.py``), and gets a ``request_uri`` for the browser to bring instead
(``core/pushed_requests.py``). The browser's address then carries no parameter a person or
a proxy could read or change, and a client registered to require it sends nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from leadexec_signin.core.actions.client_auth import ClientAuthenticator, ClientAuthTx, Presented
from leadexec_signin.core.actions.client_documents import ClientDocuments
from leadexec_signin.core.client_documents import DocumentRefused, client_key, refused_client
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest, InvalidRequestUri
from leadexec_signin.core.limits import count_or_refuse
from leadexec_signin.core.oauth_authorize import (
    AUTH_AFTER,
    PARAMETERS,
    OAuthRequest,
    check_request,
    check_target,
)
from leadexec_signin.core.ports import RateLimiter, Store
from leadexec_signin.core.pushed_requests import (
    OPENED_TTL,
    PUSHED_TTL,
    URN,
    PushedRequest,
    PushedRequests,
    new_request_uri,
    request_uri_hash,
)
from leadexec_signin.settings import Settings

# What a pushed request may carry: the authorization request's own parameters, not a
# request_uri (RFC 9126 section 2.1) nor our return parameter.
PUSHABLE = tuple(p for p in PARAMETERS if p not in ("request_uri", AUTH_AFTER))


class ParTx(ClientAuthTx, PushedRequests, Protocol):
    pass


@dataclass(frozen=True)
class Pushed:
    request_uri: str
    expires_in: int


class PushedAuthorization:
    def __init__(
        self,
        store: Store[ParTx],
        limiter: RateLimiter,
        clock: Clock,
        settings: Settings,
        authenticator: ClientAuthenticator,
        documents: ClientDocuments,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        self.authenticator = authenticator
        self.documents = documents

    def push(self, offered: Presented, form: Mapping[str, str], ip: str) -> Pushed:
        """RFC 9126 section 2: the client authenticates as at the token endpoint (a public
        client names itself), and a request that ``/oauth2/authorize`` would refuse is
        refused here, in JSON, before any browser sees it."""
        count_or_refuse(self.limiter, self.settings.revoke_limit_per_ip, "par-ip", ip)
        if form.get("request_uri"):
            raise InvalidRequest("request_uri cannot be pushed (RFC 9126 section 2.1).")
        if self.documents.names_document(offered.client_id):
            # A client named by its metadata document: fetched (or kept) and its row made
            # before the transaction, so the authentication below finds it.
            try:
                self.documents.register(offered.client_id, ip)
            except DocumentRefused as exc:
                raise refused_client(exc) from None
        now = self.clock.now()
        documents = self.settings.metadata_documents
        with self.store.transaction() as tx:
            app = self.authenticator.authenticate(tx, offered, now)
            if form.get("client_id", app.client_id) != app.client_id:
                raise InvalidRequest("client_id differs from the authenticated client.")
            params: dict[str, Any] = {n: form[n] for n in PUSHABLE if form.get(n)}
            params["client_id"] = app.client_id
            req = OAuthRequest(**params, pushed=True)
            check_request(req, check_target(tx, req, documents=documents), self.settings.issuer)
            request_uri, hashed = new_request_uri()
            tx.add_pushed_request(PushedRequest(hashed, app.id, params, now, now + PUSHED_TTL))
        return Pushed(request_uri, int(PUSHED_TTL.total_seconds()))


def resolve_pushed(tx: PushedRequests, req: OAuthRequest, now: datetime) -> OAuthRequest:
    """At ``/oauth2/authorize``: the pushed request a ``request_uri`` of ours stands for, if
    it is the named client's, unanswered and in time; only its parameters count (RFC 9126
    section 4), beside the client id and our return parameter. Refused before the redirect
    URI is known, so shown to the user, never redirected. A ``request_uri`` that is not ours
    is left for ``check_parameters`` (``request_uri_not_supported``)."""
    if req.pushed or not req.request_uri.startswith(URN):
        return req
    if {"client_id", "request_uri"} & set(req.duplicates):
        raise InvalidRequest("client_id or request_uri was sent more than once.")
    hashed = request_uri_hash(req.request_uri)
    found = tx.pushed_request(hashed) if hashed else None
    if (
        hashed is None
        or found is None
        or found.app_id != client_key(req.client_id)
        or found.used_at is not None
        or now >= found.expires_at
    ):
        raise InvalidRequestUri()
    if found.opened_at is None:
        # Brought in time: the sign-in and consent around it may take a person's time.
        tx.open_pushed_request(hashed, now, now + OPENED_TTL)
    params: dict[str, Any] = {n: v for n, v in found.params.items() if n in PUSHABLE}
    return OAuthRequest(
        **params, request_uri=req.request_uri, le_auth_after=req.le_auth_after, pushed=True
    )
