"""Accounts made by a directory (SCIM, RFC 7644 section 3.3) or the admin API: no password
crosses the wire, so the account starts without one (the person sets it from a reset link,
or signs in however the operator arranges); the directory's userName and extra attributes are
kept with it. One transaction: the row, its SCIM identity and its audit event."""

from __future__ import annotations

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import User, normalize_email
from leadexec_signin.core.actions.people import PeopleTx, check_scim_identity
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import Conflict, InvalidRequest
from leadexec_signin.core.people import MAX_PLAN, Profile, ScimIdentity
from leadexec_signin.core.ports import Store

# Not an argon2 hash: no password matches it (``Passwords.verify`` answers False).
NO_PASSWORD = "!none"


class Provisioning:
    def __init__(self, store: Store[PeopleTx], clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def create(
        self,
        *,
        email: str,
        profile: Profile,
        plan: str = "",
        operator: bool = False,
        disabled: bool = False,
        scim: ScimIdentity | None = None,
        actor: str,
    ) -> User:
        email = normalize_email(email)
        clean = profile.checked()
        if len(plan) > MAX_PLAN or not plan.isprintable():
            raise InvalidRequest(f"plan: at most {MAX_PLAN} printable characters.")
        now = self.clock.now()
        user = User(
            id=credentials.new_id("usr_"),
            email=email,
            name=clean.name,
            password_hash=NO_PASSWORD,
            company=clean.company,
            plan=plan,
            timezone=clean.timezone,
            locale=clean.locale,
            is_operator=operator,
            created_at=now,
            # The directory (or the operator's script) vouches for the address.
            email_verified_at=now,
            disabled_at=now if disabled else None,
            scim_user_name=scim.user_name if scim else None,
            scim_attributes=scim.attributes if scim else {},
        )
        with self.store.transaction() as tx:
            if tx.user_by_email(email) is not None:
                raise Conflict("A user with this email already exists.")
            if scim is not None:
                check_scim_identity(tx, scim, None)
            tx.add_user(user)
            if scim is not None:
                tx.set_scim_identity(user.id, scim.user_name, scim.attributes)
            if disabled:
                tx.set_user_disabled(user.id, now)
            audit.record(tx, now, audit.USER_CREATED, user_id=user.id, actor=actor,
                         subject=user.id, detail={"via": "scim" if scim else "api"})  # fmt: skip
        return user
