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
