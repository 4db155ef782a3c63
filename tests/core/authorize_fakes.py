"""An in-memory fake of the authorize pipeline's ports (fosite tests its authorize handlers
against a memory store the same way; ``token_fakes.py`` is the token endpoint's): sessions,
grants, codes, factors and the audit trail over dictionaries, every write visible to the
test, and a test surface whose every step is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from token_fakes import MemoryTx

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.authorize_step import Admitted
from leadexec_signin.core.apps import Application, Button
from leadexec_signin.core.errors import Conflict, SigninError
from leadexec_signin.core.factors import Passkey, TotpSecret
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.sessions import Session


@dataclass
class AuthorizeMemoryTx(MemoryTx):
    """The token fake's dictionaries, and the ports the authorize pipeline adds."""

    buttons: dict[str, Button] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    passkeys: dict[str, list[Passkey]] = field(default_factory=dict)
    signins: dict[str, tuple[str, ...]] = field(default_factory=dict)
    conflicts: int = 0  # how many add_grant calls fail as a concurrent insert would

    def button_by_id(self, btn_id: str) -> Button | None:
        return self.buttons.get(btn_id)

    # Sessions
    def session_by_hash(self, id_hash: str) -> Session | None:
        return self.sessions.get(id_hash)

    def touch_session(self, id_hash: str, at: datetime, expires_at: datetime) -> None:
        self.sessions[id_hash] = replace(
            self.sessions[id_hash], last_seen_at=at, expires_at=expires_at
        )

    def delete_session(self, id_hash: str) -> None:
        self.sessions.pop(id_hash, None)

    # Grants
    def active_grant(self, user_id: str, app_id: str) -> Grant | None:
        for grant in self.grants.values():
            if grant.user_id == user_id and grant.app_id == app_id and grant.active:
                return grant
        return None

    def add_grant(self, grant: Grant) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict("That conflicts with a concurrent change; try again.")
        self.grants[grant.id] = grant

    def set_grant_scopes(self, grant_id: str, scopes: frozenset[str]) -> None:
        self.grants[grant_id] = replace(self.grants[grant_id], scopes=scopes)

    def touch_grant(self, grant_id: str, at: datetime) -> None:
        self.grants[grant_id] = replace(self.grants[grant_id], last_used_at=at)

    def add_code(self, code) -> None:  # type: ignore[no-untyped-def]
        self.codes[code.code_hash] = code

    # Factors
    def passkeys_for_user(self, user_id: str) -> list[Passkey]:
        return self.passkeys.get(user_id, [])

    def totp_secret(self, user_id: str) -> TotpSecret | None:
        return None

    def signing_keys(self) -> list[object]:
        return []  # no ID token was ever signed here, so no hint can be ours

    def remember_signin(self, sid: str, amr: tuple[str, ...], at: datetime) -> None:
        self.signins[sid] = amr


class AuthorizeMemoryStore:
    """``Store`` over one :class:`AuthorizeMemoryTx`: a unit that raises leaves nothing, as
    a database transaction would (the writes are undone from a copy)."""

    def __init__(self, tx: AuthorizeMemoryTx) -> None:
        self.tx = tx

    @contextmanager
    def transaction(self) -> Iterator[AuthorizeMemoryTx]:
        self.tx.units.append("write")
        kept = (dict(self.tx.grants), dict(self.tx.codes), list(self.tx.events))
        try:
            yield self.tx
        except BaseException:
            self.tx.grants, self.tx.codes, self.tx.events = kept
            raise

    @contextmanager
    def reading(self) -> Iterator[AuthorizeMemoryTx]:
        self.tx.units.append("read")
        yield self.tx


@dataclass
class RecordingSurface:
    """A surface of the pipeline's own for its tests: what it admits is given, each step it
    is asked for is recorded, a refusal can be planted at any step."""

    app: Application
    scopes: frozenset[str]
    options: dict[str, object] = field(default_factory=dict)
    refuse: dict[str, SigninError] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)

    def _step(self, name: str) -> None:
        self.steps.append(name)
        if name in self.refuse:
            raise self.refuse[name]

    def locate(self, tx: object) -> str:
        self._step("locate")
        return "where answers go"

    def admit(self, tx: object, target: str) -> Admitted[str]:
        self._step("admit")
        return Admitted("context", self.app, self.scopes, **self.options)  # type: ignore[arg-type]

    def check_user(self, admitted: Admitted[str], user: User) -> None:
        self._step("check_user")

    def deliver(self, tx, admitted, session, user, grant, now, ip) -> str:  # type: ignore[no-untyped-def]
        self._step("deliver")
        return f"delivered {grant.id} {' '.join(sorted(grant.scopes))}"
