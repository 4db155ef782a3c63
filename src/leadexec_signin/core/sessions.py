"""Server-side browser sessions: the cookie holds a random id, storage holds its hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    # How it was signed in (RFC 8176 values, core/factors.py), when the user last proved who
    # they are (None: at creation), and the browser it belongs to.
    amr: tuple[str, ...] = ("pwd",)
    authenticated_at: datetime | None = None
    ip: str = ""
    user_agent: str = ""

    @property
    def proven_at(self) -> datetime:
        return self.authenticated_at or self.created_at
