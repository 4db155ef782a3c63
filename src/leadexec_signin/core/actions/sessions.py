"""Browser sessions: server-side rows found by the hash of a cookie's 256 random bits."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import User
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import AccountDisabled
from leadexec_signin.core.ports import Audit, Sessions, Store, Users
from leadexec_signin.core.sessions import Session
from leadexec_signin.settings import Settings

# A session is touched at most this often, so browsing does not write on every request.
TOUCH_EVERY = timedelta(minutes=1)


class SessionsTx(Sessions, Users, Audit, Protocol):
    pass


def session_user(tx: SessionsTx, raw: str | None, now: datetime, settings: Settings) -> User | None:
    """The signed-in user, inside the caller's transaction (the popup reads it together with
    the grant). Expired sessions are deleted; live ones slide their idle deadline."""
    found = signed_in(tx, raw, now, settings)
    return found[1] if found else None


def public_sid(session: Session) -> str:
    """The session's id as relying parties see it (OpenID Connect ``sid``): derived from the
    stored hash, so it names the session without being a credential for it."""
    return hashlib.sha256(b"sid:" + session.id_hash.encode("ascii")).hexdigest()[:32]


def signed_in(
    tx: SessionsTx, raw: str | None, now: datetime, settings: Settings
) -> tuple[Session, User] | None:
    """The session and its user (OpenID Connect needs when the user signed in: the
    session's creation, since every sign-in makes a new session)."""
    if not credentials.looks_like(raw, credentials.SESSION):
        return None
    assert raw is not None
    id_hash = credentials.token_hash(raw)
    session = tx.session_by_hash(id_hash)
    if session is None:
        return None
    absolute_end = session.created_at + timedelta(seconds=settings.session_absolute_seconds)
    if now >= session.expires_at or now >= absolute_end:
        tx.delete_session(id_hash)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        idle_end = now + timedelta(seconds=settings.session_idle_seconds)
        tx.touch_session(id_hash, now, min(idle_end, absolute_end))
    user = tx.user_by_id(session.user_id)
    # A disabled account's sessions were ended; one that slipped past (a race) is no sign-in.
    return (session, user) if user and not user.disabled else None


class BrowserSessions:
    def __init__(self, store: Store[SessionsTx], clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings

    def start(
        self,
        user: User,
        amr: tuple[str, ...] = ("pwd",),
        ip: str = "",
        user_agent: str = "",
    ) -> str:
        raw = credentials.new_token(credentials.SESSION)
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.user_by_id(user.id)
            if current is None or current.disabled:
                raise AccountDisabled()
            tx.add_session(
                Session(
                    id_hash=credentials.token_hash(raw),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(seconds=self.settings.session_idle_seconds),
                    amr=amr,
                    ip=ip,
                    user_agent=user_agent,
                )
            )
        return raw

    def current(self, raw: str | None) -> tuple[Session, User] | None:
        """The session and its user (the security page needs when the user last proved it)."""
        if not credentials.looks_like(raw, credentials.SESSION):
            return None
        with self.store.transaction() as tx:
            return signed_in(tx, raw, self.clock.now(), self.settings)

    def user(self, raw: str | None) -> User | None:
        if not credentials.looks_like(raw, credentials.SESSION):
            return None
        with self.store.transaction() as tx:
            return session_user(tx, raw, self.clock.now(), self.settings)

    def end(self, raw: str | None, ip: str) -> None:
        if not credentials.looks_like(raw, credentials.SESSION):
            return
        assert raw is not None
        with self.store.transaction() as tx:
            session = tx.session_by_hash(credentials.token_hash(raw))
            if session is not None:
                tx.delete_session(session.id_hash)
                audit.record(tx, self.clock.now(), audit.SIGNOUT, user_id=session.user_id, ip=ip)
