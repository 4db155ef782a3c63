"""Grants: the association user x application with the scopes the user consented to.

A grant is the one thing every token points at; revoking it is what "disconnect" means, and it
kills every token issued under it at once (node-oidc-provider ``lib/models/grant.js``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Grant:
    id: str
    user_id: str
    app_id: str
    scopes: frozenset[str]
    created_at: datetime
    last_used_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class GrantListing:
    """A row of the user's connected-applications page."""

    grant: Grant
    app_name: str
    app_logo_url: str
    app_homepage_url: str
