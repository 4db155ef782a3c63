"""The unit of work a refresh-token rotation runs in on the event loop (``placement.py``).

A rotation reads the client, the token with its grant and application, the grant's user and
the sign-in's methods, then writes once: the old token retired and its successor inserted.
On PostgreSQL the reads are one statement awaited through asyncpg (``ROTATION_READ``; the
client from the token cache), and the write another (``ROTATE``), conditional on the token
being unrotated and its grant active. In between, the token endpoint runs unchanged on this
unit: every read it makes is answered from what was read ahead, and its write is kept for the
caller to await. Nothing here waits, so the whole rotation runs without a thread.

The caller hands this unit only a request whose path it covers: a client authenticating
with a secret or none (an assertion's jti would be a second write), a token found and not
yet rotated (a reuse revokes the grant: another write). A refusal on the way needs no write
of its own (its audit row is kept by the caller, as for every request run on the loop).
"""

from __future__ import annotations

from datetime import datetime

from leadexec_signin.core.accounts import User
from leadexec_signin.core.apps import Application
from leadexec_signin.core.tokens import RefreshGrant, RefreshToken
from leadexec_signin.storage.sql.hot_async import RotationRead


class HandedRotation:
    def __init__(self, client: Application, read: RotationRead) -> None:
        self.client = client
        self.read = read
        # The write the rotation made: (the old token's hash, its successor, when).
        self.kept: tuple[str, RefreshToken, datetime] | None = None

    def app_by_id(self, app_id: str) -> Application | None:
        return self.client if app_id == self.client.id else None

    def refresh_grant(self, token_hash: str, *, lock: bool = False) -> RefreshGrant | None:
        """Without a lock: the kept write is conditional on what the lock would protect."""
        found = self.read.found
        return found if token_hash == found.token_hash else None

    def user_by_id(self, user_id: str) -> User | None:
        user = self.read.user
        return user if user_id == user.id else None

    def signin_methods(self, sid: str) -> tuple[str, ...] | None:
        return self.read.amr if sid == self.read.found.token.sid else None

    def rotate_refresh_token(self, token_hash: str, successor: RefreshToken, at: datetime) -> bool:
        """Kept, and answered as done: if the caller's write then finds the token rotated
        or the grant ended meanwhile, it runs the whole request again in a thread."""
        self.kept = (token_hash, successor, at)
        return True
