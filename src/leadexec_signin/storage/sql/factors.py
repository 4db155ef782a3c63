"""SQL for second factors: passkeys, the authenticator app, recovery codes, WebAuthn
challenges, and re-authenticated sessions (mixed into ``SqlTransaction``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.engine import Connection

from leadexec_signin.core.factors import Challenge, Passkey, TotpSecret
from leadexec_signin.core.sessions import Session
from leadexec_signin.storage.sql import factor_tables as f
from leadexec_signin.storage.sql import tables as t


def _passkey(row: Row[object]) -> Passkey:
    m = row._mapping
    return Passkey(
        id=m["id"],
        user_id=m["user_id"],
        credential_id=m["credential_id"],
        public_key=m["public_key"],
        name=m["name"],
        sign_count=m["sign_count"],
        backup_eligible=m["backup_eligible"],
        backed_up=m["backed_up"],
        created_at=m["created_at"],
        transports=m["transports"],
        aaguid=m["aaguid"],
        last_used_at=m["last_used_at"],
    )


class FactorRepository:
    c: Connection
    # AccountRepository's, beside this one in the transaction class (store.py).
    session_by_hash: Callable[[str], Session | None]

    # -- passkeys ----------------------------------------------------------------------------

    def add_passkey(self, passkey: Passkey) -> None:
        self.c.execute(
            insert(f.passkeys).values(
                id=passkey.id,
                user_id=passkey.user_id,
                credential_id=passkey.credential_id,
                public_key=passkey.public_key,
                name=passkey.name,
                sign_count=passkey.sign_count,
                backup_eligible=passkey.backup_eligible,
                backed_up=passkey.backed_up,
                transports=passkey.transports,
                aaguid=passkey.aaguid,
                created_at=passkey.created_at,
                last_used_at=passkey.last_used_at,
            )
        )

    def passkeys_for_user(self, user_id: str) -> list[Passkey]:
        rows = self.c.execute(
            select(f.passkeys)
            .where(f.passkeys.c.user_id == user_id)
            .order_by(f.passkeys.c.created_at, f.passkeys.c.id)
        ).all()
        return [_passkey(r) for r in rows]

    def passkey_by_credential(self, credential_id: str) -> Passkey | None:
        p = f.passkeys
        row = self.c.execute(
            select(p).where(p.c.credential_id == credential_id).with_for_update()
        ).first()
        return _passkey(row) if row else None

    def use_passkey(self, passkey_id: str, sign_count: int, backed_up: bool, at: datetime) -> None:
        self.c.execute(
            update(f.passkeys)
            .where(f.passkeys.c.id == passkey_id)
            .values(sign_count=sign_count, backed_up=backed_up, last_used_at=at)
        )

    def rename_passkey(self, user_id: str, passkey_id: str, name: str) -> bool:
        p = f.passkeys
        done = self.c.execute(
            update(p).where(p.c.id == passkey_id, p.c.user_id == user_id).values(name=name)
        )
        return done.rowcount > 0

    def delete_passkey(self, user_id: str, passkey_id: str) -> bool:
        p = f.passkeys
        done = self.c.execute(delete(p).where(p.c.id == passkey_id, p.c.user_id == user_id))
        return done.rowcount > 0

    # -- the authenticator app and recovery codes -------------------------------------------

    def totp_secret(self, user_id: str) -> TotpSecret | None:
        row = self.c.execute(
            select(f.totp_secrets).where(f.totp_secrets.c.user_id == user_id)
        ).first()
        if row is None:
            return None
        return TotpSecret(row.user_id, row.secret, row.created_at, row.confirmed_at, row.last_step)

    def put_totp_secret(self, secret: TotpSecret) -> None:
        self.c.execute(delete(f.totp_secrets).where(f.totp_secrets.c.user_id == secret.user_id))
        self.c.execute(
            insert(f.totp_secrets).values(
                user_id=secret.user_id,
                secret=secret.secret,
                created_at=secret.created_at,
                confirmed_at=secret.confirmed_at,
                last_step=secret.last_step,
            )
        )

    def confirm_totp(self, user_id: str, at: datetime) -> None:
        t_ = f.totp_secrets
        self.c.execute(update(t_).where(t_.c.user_id == user_id).values(confirmed_at=at))

    def advance_totp(self, user_id: str, step: int) -> bool:
        t_ = f.totp_secrets
        done = self.c.execute(
            update(t_).where(t_.c.user_id == user_id, t_.c.last_step < step).values(last_step=step)
        )
        return done.rowcount == 1

    def delete_totp(self, user_id: str) -> bool:
        done = self.c.execute(delete(f.totp_secrets).where(f.totp_secrets.c.user_id == user_id))
        return done.rowcount > 0

    def replace_recovery_codes(self, user_id: str, hashes: list[str], at: datetime) -> None:
        r = f.recovery_codes
        self.c.execute(delete(r).where(r.c.user_id == user_id))
        if hashes:
            self.c.execute(
                insert(r), [{"code_hash": h, "user_id": user_id, "created_at": at} for h in hashes]
            )

    def use_recovery_code(self, user_id: str, code_hash: str, at: datetime) -> bool:
        r = f.recovery_codes
        done = self.c.execute(
            update(r)
            .where(r.c.code_hash == code_hash, r.c.user_id == user_id, r.c.used_at.is_(None))
            .values(used_at=at)
        )
        return done.rowcount == 1

    def recovery_codes_left(self, user_id: str) -> int:
        r = f.recovery_codes
        rows = self.c.execute(
            select(r.c.code_hash).where(r.c.user_id == user_id, r.c.used_at.is_(None))
        ).all()
        return len(rows)

    # -- challenges --------------------------------------------------------------------------

    def add_challenge(self, challenge: Challenge, now: datetime) -> None:
        w = f.webauthn_challenges
        # Expired ones go as new ones come: the table holds only the last five minutes.
        self.c.execute(delete(w).where(w.c.expires_at <= now))
        self.c.execute(
            insert(w).values(
                challenge_hash=challenge.challenge_hash,
                binding=challenge.binding,
                purpose=challenge.purpose,
                user_id=challenge.user_id,
                expires_at=challenge.expires_at,
            )
        )

    def take_challenge(self, challenge_hash: str) -> Challenge | None:
        """Deleted as it is read: a challenge is answered once, whatever the answer."""
        w = f.webauthn_challenges
        row = self.c.execute(
            select(w).where(w.c.challenge_hash == challenge_hash).with_for_update()
        ).first()
        if row is None:
            return None
        done = self.c.execute(delete(w).where(w.c.challenge_hash == challenge_hash))
        if done.rowcount != 1:  # a concurrent answer took it first
            return None
        return Challenge(row.challenge_hash, row.binding, row.purpose, row.user_id, row.expires_at)

    # -- sessions ----------------------------------------------------------------------------

    def remember_signin(self, sid: str, amr: tuple[str, ...], at: datetime) -> None:
        s = f.signins
        if self.c.execute(select(s.c.sid).where(s.c.sid == sid)).first() is None:
            self.c.execute(insert(s).values(sid=sid, amr=" ".join(amr), created_at=at))

    def signin_methods(self, sid: str) -> tuple[str, ...] | None:
        row = self.c.execute(select(f.signins.c.amr).where(f.signins.c.sid == sid)).first()
        return tuple(row.amr.split()) if row else None

    def confirm_session(self, id_hash: str, at: datetime, amr: tuple[str, ...]) -> None:
        self.c.execute(
            update(t.sessions)
            .where(t.sessions.c.id_hash == id_hash)
            .values(authenticated_at=at, amr=" ".join(amr))
        )

    def sessions_for_user(self, user_id: str) -> list[Session]:
        s = t.sessions
        rows = self.c.execute(
            select(s).where(s.c.user_id == user_id).order_by(s.c.last_seen_at.desc())
        ).all()
        found = (self.session_by_hash(r.id_hash) for r in rows)
        return [session for session in found if session is not None]
