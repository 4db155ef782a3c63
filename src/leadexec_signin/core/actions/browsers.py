"""The account's password and signed-in browsers, on the security page: change the password
(the current one is checked by the caller, under the sign-in limits; every other session
ends), list the browsers signed in, sign one out, or every one but this."""

from __future__ import annotations

import re
from typing import Protocol

from leadexec_signin.core import audit
from leadexec_signin.core.accounts import Passwords, User, check_password_strength
from leadexec_signin.core.actions.sessions import public_sid
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import NotFound
from leadexec_signin.core.mail import Mailer, compose
from leadexec_signin.core.ports import Audit, Factors, Sessions, Store, Users
from leadexec_signin.core.sessions import Session
from leadexec_signin.i18n import N_


class BrowsersTx(Factors, Sessions, Users, Audit, Protocol):
    pass


_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"))  # fmt: skip
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux"))  # fmt: skip
_HEADLESS = re.compile(r"Headless", re.I)


def device(user_agent: str) -> str:
    """A browser as a person names it ("Chrome on Windows"), from its user agent."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if _HEADLESS.search(user_agent):
        browser = browser or "Chromium"
    if browser and system:
        return f"{browser} / {system}"
    return browser or system or "?"


class Browsers:
    def __init__(
        self,
        store: Store[BrowsersTx],
        clock: Clock,
        passwords: Passwords,
        mailer: Mailer,
        issuer: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.passwords = passwords
        self.mailer = mailer
        self.issuer = issuer

    def change_password(self, user: User, keep: Session, new: str) -> int:
        check_password_strength(new)
        digest = self.passwords.hash(new)
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.set_password_hash(user.id, digest)
            ended = self._end_others(tx, user.id, keep.id_hash)
            audit.record(
                tx, now, audit.PASSWORD_CHANGED, user_id=user.id, detail={"sessions_ended": ended}
            )
        self.mailer.send(
            compose(
                user.email,
                "password_changed",
                name=user.name,
                link=f"{self.issuer}/account/forgot",
            )
        )
        return ended

    def list(self, user_id: str) -> list[Session]:
        with self.store.transaction() as tx:
            return tx.sessions_for_user(user_id)

    def end(self, user_id: str, sid: str) -> None:
        with self.store.transaction() as tx:
            for session in tx.sessions_for_user(user_id):
                if public_sid(session) == sid:
                    tx.delete_session(session.id_hash)
                    audit.record(tx, self.clock.now(), audit.SIGNOUT, user_id=user_id)
                    return
        raise NotFound(N_("That browser is not signed in to your account."))

    def end_others(self, user_id: str, keep: Session) -> int:
        with self.store.transaction() as tx:
            ended = self._end_others(tx, user_id, keep.id_hash)
            audit.record(tx, self.clock.now(), audit.SIGNOUT, user_id=user_id,
                         detail={"sessions_ended": ended})  # fmt: skip
        return ended

    @staticmethod
    def _end_others(tx: BrowsersTx, user_id: str, keep_hash: str) -> int:
        ended = 0
        for session in tx.sessions_for_user(user_id):
            if session.id_hash != keep_hash:
                tx.delete_session(session.id_hash)
                ended += 1
        return ended
