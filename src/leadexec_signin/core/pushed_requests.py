"""Pushed authorization requests (RFC 9126): what a client pushes to ``/oauth2/par`` and the
``request_uri`` it gets back.

The ``request_uri`` is ``urn:ietf:params:oauth:request_uri:`` and 256 random bits, kept as a
SHA-256 like every token here. It must be brought to ``/oauth2/authorize`` by the client that
pushed it within :data:`PUSHED_TTL`; once the browser brought it, the sign-in and consent it
leads to may take the time a person needs (:data:`OPENED_TTL`), and the request is answered
once: after its code is issued, or an error was sent back or shown, the ``request_uri`` is
refused (single use, RFC 9126 section 4, which allows a reload while the request is in
progress: the sign-in and consent in between bring it again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import credentials

URN = "urn:ietf:params:oauth:request_uri:"
PUSHED_TTL = timedelta(seconds=60)
OPENED_TTL = timedelta(minutes=10)
_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class PushedRequest:
    request_uri_hash: str
    app_id: str
    params: dict[str, str]  # the authorization request's parameters, checked when pushed
    created_at: datetime
    expires_at: datetime
    opened_at: datetime | None = None
    used_at: datetime | None = None


def new_request_uri() -> tuple[str, str]:
    """A new ``request_uri`` and the hash it is stored under."""
    reference = credentials.new_token("")
    return URN + reference, credentials.token_hash(reference)


def request_uri_hash(request_uri: str) -> str | None:
    """The stored hash of a ``request_uri`` of ours; None for anything else."""
    if not request_uri.startswith(URN):
        return None
    reference = request_uri[len(URN) :]
    return credentials.token_hash(reference) if _REFERENCE.fullmatch(reference) else None


class PushedRequests(Protocol):
    """RFC 9126 pushed authorization requests (the port; ``core/ports.py`` lists it)."""

    def add_pushed_request(self, pushed: PushedRequest) -> None: ...
    def pushed_request(self, request_uri_hash: str) -> PushedRequest | None: ...
    def open_pushed_request(self, request_uri_hash: str, at: datetime, until: datetime) -> None:
        """The browser brought it: it may now live until ``until`` (once only)."""
        ...

    def use_pushed_request(self, request_uri_hash: str, at: datetime) -> bool:
        """Mark it answered; False if it already was (of two answers, one wins)."""
        ...

    def delete_expired_pushed_requests(self, now: datetime) -> int: ...
