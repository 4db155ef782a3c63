"""What operators do to people: find them, look at one, and disable, enable, send a password
reset, reset second factors, sign out everywhere, make or unmake an operator, or delete.

One use case under every surface (``/admin/users``, the command line, the admin REST API and
SCIM): each act is one transaction, audited with its actor (an operator's user id, ``cli``, or
an API token's id), and the partners hear of what ended in that same transaction (disconnect
notices and back-channel logout, through ``revocation.revoke``).

Never locks everyone out: the last enabled operator cannot be disabled, deleted or unmade,
and an operator cannot disable or delete their own account from here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from leadexec_signin import i18n
from leadexec_signin.core import audit
from leadexec_signin.core.account_tokens import RESET, AccountToken, new_link_token
from leadexec_signin.core.accounts import User, normalize_email
from leadexec_signin.core.actions.logout import SessionApps
from leadexec_signin.core.actions.revocation import RevokeTx, logout_notice, revoke
from leadexec_signin.core.actions.sessions import public_sid
from leadexec_signin.core.audit import AuditFilter
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import Conflict, InvalidRequest, NotFound
from leadexec_signin.core.mail import Mailer, Message, compose
from leadexec_signin.core.people import (
    MAX_PLAN,
    Change,
    Profile,
    ScimIdentity,
    UserDetail,
    UserList,
    UserQuery,
)
from leadexec_signin.core.ports import (
    AccountTokens,
    AuditLog,
    Directory,
    Factors,
    Grants,
    Sessions,
    Store,
    Users,
)
from leadexec_signin.i18n import N_
from leadexec_signin.settings import Settings

# Every act by the word the pages, the command line and the API use.
ACTIONS = (
    "disable",
    "enable",
    "reset-password",
    "reset-factors",
    "sign-out",
    "make-operator",
    "unmake-operator",
    "delete",
)
RECENT_EVENTS = 20
# Ids never reach storage malformed (a NUL byte is a 500 on PostgreSQL otherwise).
_USER_ID = re.compile(r"usr_[A-Za-z0-9_-]{1,76}")
_GRANT_ID = re.compile(r"grt_[A-Za-z0-9_-]{1,76}")


def check_scim_identity(tx: PeopleTx, identity: ScimIdentity, user_id: str | None) -> None:
    if not 1 <= len(identity.user_name) <= 320 or not identity.user_name.isprintable():
        raise InvalidRequest("userName: 1 to 320 printable characters.")
    taken = tx.user_by_scim_name(identity.user_name)
    if taken is not None and taken.id != user_id:
        raise Conflict("Another user already has this userName.")


class PeopleTx(
    Users, Directory, RevokeTx, Grants, Sessions, SessionApps, Factors, AuditLog,
    AccountTokens, Protocol,
):  # fmt: skip
    pass


def load(tx: PeopleTx, user_id: str) -> User:
    user = tx.user_by_id(user_id) if _USER_ID.fullmatch(user_id) else None
    if user is None:
        raise NotFound(N_("No such user."))
    return user


def keep_an_operator(tx: PeopleTx, user: User, actor: str, act: str) -> None:
    """Refused, in a sentence, when the act would leave LeadExec with nobody to manage it."""
    if act in ("disable", "delete") and actor == user.id:
        raise Conflict(
            N_("You cannot disable or delete your own account here: ask another operator.")
        )
    if user.is_operator and not user.disabled and tx.operators_enabled() <= 1:
        raise Conflict(
            N_(
                "This is the last operator: make someone else an operator first, or nobody "
                "could manage LeadExec."
            )
        )


def end_access(tx: PeopleTx, user: User, now: datetime, *, via: str, actor: str) -> int:
    """Every grant ends (each partner told: a disconnect notice, back-channel logout where
    registered) and every browser is signed out. How many grants ended."""
    grants = tx.grants_for_user(user.id)
    for item in grants:
        revoke(tx, item.grant, now, "", via=via, actor=actor)
    for session in tx.sessions_for_user(user.id):
        tx.delete_session(session.id_hash)
    return len(grants)


def sign_out_sessions(tx: PeopleTx, user: User, now: datetime) -> int:
    """Every browser signed out; each application a session signed into and that registered
    back-channel logout hears of that session's end."""
    sessions = tx.sessions_for_user(user.id)
    for session in sessions:
        sid = public_sid(session)
        for app_id in tx.apps_of_session(sid):
            app = tx.app_by_id(app_id)
            if app is not None and app.backchannel_logout_uri:
                tx.add_notice(logout_notice(app, user.id, sid, now), now)
        tx.delete_session(session.id_hash)
    return len(sessions)


def erase(tx: PeopleTx, user: User, now: datetime, *, actor: str) -> None:
    """Delete the account: grants end with ``via: account_deleted``, sessions end, the row
    goes; the audit trail keeps the events under the account's random id, without the IP or
    browser they came from."""
    ended = end_access(tx, user, now, via="account_deleted", actor=actor)
    tx.delete_user(user.id)
    tx.forget_audit_origins(user.id)
    audit.record(
        tx, now, audit.USER_DELETED, user_id=user.id, actor=actor, subject=user.id,
        detail={"grants_ended": ended},
    )  # fmt: skip
    # Recorded after the clean-up, so this event's own origin goes too.
    tx.forget_audit_origins(user.id)


class People:
    def __init__(
        self, store: Store[PeopleTx], clock: Clock, settings: Settings, mailer: Mailer
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.mailer = mailer

    def search(self, query: UserQuery) -> UserList:
        with self.store.transaction() as tx:
            found = tx.search_users(query)
            page = found[: query.limit]
            factors = tx.users_with_factors([u.id for u in page])
        more = len(found) > query.limit
        return UserList(page, factors, page[-1].email if more and page else "")

    def by_user_name(self, user_name: str) -> User | None:
        """The user a SCIM directory calls ``user_name`` (its own name, or else the address)."""
        with self.store.transaction() as tx:
            found = tx.user_by_scim_name(user_name[:320])
            if found is None and "@" in user_name:
                by_email = tx.user_by_email(user_name.strip().lower()[:320])
                found = by_email if by_email and by_email.scim_user_name is None else None
        return found

    def page_by_offset(self, offset: int, count: int) -> tuple[int, list[User]]:
        """Everyone by email, ``count`` from ``offset`` on, and how many there are (SCIM's
        startIndex paging)."""
        with self.store.transaction() as tx:
            total = tx.count_users()
            page = tx.users_by_offset(offset, count) if count else []
        return total, page

    def find(self, user_id: str) -> User:
        with self.store.transaction() as tx:
            return load(tx, user_id)

    def by_email(self, email: str) -> User:
        with self.store.transaction() as tx:
            user = tx.user_by_email(email.strip().lower()[:320])
        if user is None:
            raise NotFound(N_("No such user."))
        return user

    def detail(self, user_id: str, *, events: int = RECENT_EVENTS) -> UserDetail:
        with self.store.transaction() as tx:
            return detail_of(tx, load(tx, user_id), events)

    def act(self, user_id: str, action: str, *, actor: str) -> User:
        """One of ``ACTIONS``; the user as they are afterwards (a deleted one as they were)."""
        if action not in ACTIONS:
            raise InvalidRequest(f"Choose one of: {', '.join(ACTIONS)}.")
        now = self.clock.now()
        mail: Message | None = None
        with self.store.transaction() as tx:
            user = load(tx, user_id)
            if action in ("disable", "delete", "unmake-operator"):
                if action != "unmake-operator" or user.is_operator:
                    keep_an_operator(tx, user, actor, action)
            if action == "disable":
                user = self._disable(tx, user, now, actor)
            elif action == "enable":
                tx.set_user_disabled(user.id, None)
                audit.record(tx, now, audit.USER_ENABLED, user_id=user.id, actor=actor,
                             subject=user.id)  # fmt: skip
                user = replace(user, disabled_at=None)
            elif action == "reset-password":
                mail = self._reset_link(tx, user, now, actor)
            elif action == "reset-factors":
                count = tx.delete_factors(user.id)
                audit.record(tx, now, audit.FACTORS_RESET, user_id=user.id, actor=actor,
                             subject=user.id, detail={"count": count})  # fmt: skip
                with i18n.using(i18n.supported(user.locale) or i18n.DEFAULT):
                    mail = compose(user.email, "factors_reset", name=user.name,
                                   link=f"{self.settings.issuer}/account/security")  # fmt: skip
            elif action == "sign-out":
                ended = sign_out_sessions(tx, user, now)
                audit.record(tx, now, audit.USER_SIGNED_OUT, user_id=user.id, actor=actor,
                             subject=user.id, detail={"sessions_ended": ended})  # fmt: skip
            elif action in ("make-operator", "unmake-operator"):
                on = action == "make-operator"
                tx.set_user_operator(user.id, on)
                audit.record(tx, now, audit.USER_OPERATOR, user_id=user.id, actor=actor,
                             subject=user.id, detail={"operator": on})  # fmt: skip
                user = replace(user, is_operator=on)
            else:
                erase(tx, user, now, actor=actor)
        if mail is not None:  # after the commit: a slow mail server holds no lock
            self.mailer.send(mail)
        return user

    def update(self, user_id: str, change: Change, *, actor: str) -> User:
        """The admin API's and SCIM's update, whole or nothing: the profile, plan, operator
        role and disabled state in one transaction (a refused part writes no other)."""
        profile = change.profile.checked() if change.profile else None
        if change.email is not None:
            change = replace(change, email=normalize_email(change.email))
        if change.plan is not None and (
            len(change.plan) > MAX_PLAN or not change.plan.isprintable()
        ):
            raise InvalidRequest(f"plan: at most {MAX_PLAN} printable characters.")
        now = self.clock.now()
        with self.store.transaction() as tx:
            user = load(tx, user_id)
            if change.operator is False and user.is_operator:
                keep_an_operator(tx, user, actor, "unmake-operator")
            if change.disabled is True and not user.disabled:
                keep_an_operator(tx, user, actor, "disable")
            return self._update(tx, user, change, profile, now, actor)

    def _update(
        self, tx: PeopleTx, user: User, change: Change, profile: Profile | None,
        now: datetime, actor: str,
    ) -> User:  # fmt: skip
        changed = []
        if change.email is not None and change.email != user.email:
            taken = tx.user_by_email(change.email)
            if taken is not None and taken.id != user.id:
                raise Conflict("A user with this email already exists.")
            tx.set_email(user.id, change.email, now)
            user = replace(user, email=change.email, email_verified_at=now)
            changed.append("email")
        if change.scim is not None:
            check_scim_identity(tx, change.scim, user.id)
            tx.set_scim_identity(user.id, change.scim.user_name, change.scim.attributes)
            user = replace(user, scim_user_name=change.scim.user_name,
                           scim_attributes=change.scim.attributes)  # fmt: skip
        if profile is not None and profile != Profile.of(user):
            tx.set_user_profile(user.id, name=profile.name, company=profile.company,
                                timezone=profile.timezone, locale=profile.locale)  # fmt: skip
            user = replace(user, name=profile.name, company=profile.company,
                           timezone=profile.timezone, locale=profile.locale)  # fmt: skip
            changed.append("profile")
        if change.plan is not None and change.plan != user.plan:
            tx.set_user_plan(user.id, change.plan)
            user = replace(user, plan=change.plan)
            changed.append("plan")
        if changed:
            audit.record(tx, now, audit.USER_UPDATED, user_id=user.id, actor=actor,
                         subject=user.id, detail={"changed": changed})  # fmt: skip
        if change.operator is not None and change.operator != user.is_operator:
            tx.set_user_operator(user.id, change.operator)
            audit.record(tx, now, audit.USER_OPERATOR, user_id=user.id, actor=actor,
                         subject=user.id, detail={"operator": change.operator})  # fmt: skip
            user = replace(user, is_operator=change.operator)
        if change.disabled is True:
            user = self._disable(tx, user, now, actor)
        elif change.disabled is False and user.disabled:
            tx.set_user_disabled(user.id, None)
            audit.record(tx, now, audit.USER_ENABLED, user_id=user.id, actor=actor,
                         subject=user.id)  # fmt: skip
            user = replace(user, disabled_at=None)
        return user

    def revoke_grant(self, grant_id: str, *, actor: str) -> None:
        """An operator (or an API token) ends one grant: the partner is told."""
        with self.store.transaction() as tx:
            grant = tx.grant_by_id(grant_id) if _GRANT_ID.fullmatch(grant_id) else None
            if grant is None or not grant.active:
                raise NotFound("No such live grant.")
            revoke(tx, grant, self.clock.now(), "", via="operator", actor=actor)

    def _disable(self, tx: PeopleTx, user: User, now: datetime, actor: str) -> User:
        if user.disabled:
            return user
        tx.set_user_disabled(user.id, now)
        ended = end_access(tx, user, now, via="account_disabled", actor=actor)
        audit.record(tx, now, audit.USER_DISABLED, user_id=user.id, actor=actor,
                     subject=user.id, detail={"grants_ended": ended})  # fmt: skip
        return replace(user, disabled_at=now)

    def _reset_link(self, tx: PeopleTx, user: User, now: datetime, actor: str) -> Message:
        raw, token_hash = new_link_token()
        ttl = self.settings.reset_link_ttl_seconds
        tx.add_account_token(
            AccountToken(token_hash, user.id, RESET, now, now + timedelta(seconds=ttl))
        )
        audit.record(tx, now, audit.RESET_REQUESTED, user_id=user.id, actor=actor,
                     subject=user.id, detail={"via": "operator"})  # fmt: skip
        link = f"{self.settings.issuer}/account/reset?token={quote(raw)}"
        with i18n.using(i18n.supported(user.locale) or i18n.DEFAULT):
            return compose(user.email, "reset_password", name=user.name, link=link,
                           minutes=ttl // 60)  # fmt: skip


def detail_of(tx: PeopleTx, user: User, events: int) -> UserDetail:
    totp = tx.totp_secret(user.id)
    return UserDetail(
        user=user,
        grants=tx.grants_for_user(user.id),
        sessions=tx.sessions_for_user(user.id),
        passkeys=tx.passkeys_for_user(user.id),
        totp_since=totp.confirmed_at if totp and totp.confirmed_at else None,
        recovery_codes_left=tx.recovery_codes_left(user.id),
        events=tx.audit_events(AuditFilter(user_id=user.id), limit=events),
    )
