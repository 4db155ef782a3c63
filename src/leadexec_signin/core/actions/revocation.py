"""Ending a grant, from whichever side: the partner (``/api/revoke``, RFC 7009), the user
("Remove access"), an operator, or reuse detection. The grant and every token under it go in
one transaction, with the partner's disconnect notice queued in the same one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Protocol

from leadexec_signin.core import audit, credentials, notices
from leadexec_signin.core.access_tokens import LEGACY_LENGTH
from leadexec_signin.core.accounts import User, normalize_email
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.apps import Application
from leadexec_signin.core.clock import Clock, iso_z
from leadexec_signin.core.errors import InvalidGrant, NotFound
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.limits import count_or_refuse
from leadexec_signin.core.notices import Notice
from leadexec_signin.core.ports import (
    Apps,
    Audit,
    Grants,
    Notices,
    RateLimiter,
    Store,
    Tokens,
    Users,
)
from leadexec_signin.settings import Settings

REFUSED = "The token is not valid or has already been revoked."


class RevokeTx(Apps, Grants, Notices, Audit, Protocol):
    pass


class RevocationTx(RevokeTx, Tokens, Users, Protocol):
    pass


def revocation_notice(app: Application, grant: Grant, now: datetime, via: str) -> Notice:
    body = {
        "event": notices.EVENT_REVOKED,
        "appId": app.id,
        # The user's id only if the application was allowed to know it.
        "userId": grant.user_id if "profile" in grant.scopes else None,
        "revokedAt": iso_z(now),
        "via": via,
    }
    notice_id = credentials.new_id("ntc_")
    return Notice(
        id=notice_id,
        app_id=app.id,
        url=app.notice_url,
        body=json.dumps({"id": notice_id, **body}, separators=(",", ":")),
        attempts=0,
        next_attempt_at=now,
    )


def logout_notice(app: Application, user_id: str, sid: str, now: datetime) -> Notice:
    """OpenID Connect Back-Channel Logout 1.0 section 2.4: the claims of the logout token
    (``iat``, ``exp`` and the signature are added at each delivery attempt)."""
    claims: dict[str, object] = {
        "iss": "",  # filled in at delivery with the issuer
        "aud": app.client_id,
        "sub": user_id,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    if sid:
        claims["sid"] = sid
    return Notice(
        id=credentials.new_id("ntc_"),
        app_id=app.id,
        url=app.backchannel_logout_uri,
        body=json.dumps(claims, separators=(",", ":")),
        attempts=0,
        next_attempt_at=now,
        kind=notices.BACKCHANNEL_LOGOUT,
    )


# Revocations the application caused; the others are the user's or an operator's.
APP_ACTS = frozenset({"token", "oauth_revoke", "code_replay", "refresh_reuse"})


def revoke(
    tx: RevokeTx, grant: Grant, now: datetime, ip: str, *, via: str, actor: str | None = None
) -> None:
    if not tx.revoke_grant(grant.id, now):
        return  # already revoked: nothing more to tell anyone
    app = tx.app_by_id(grant.app_id)
    if app is not None and app.notice_url:
        # Same transaction as the revocation: no revocation without its notice.
        tx.add_notice(revocation_notice(app, grant, now, via), now)
    if app is not None and app.backchannel_logout_uri:
        tx.add_notice(logout_notice(app, grant.user_id, "", now), now)
    if actor is None and via in APP_ACTS:
        actor = grant.app_id  # the partner (its backend, or a code it presented twice)
    audit.record(
        tx,
        now,
        audit.GRANT_REVOKED,
        user_id=grant.user_id,
        app_id=grant.app_id,
        ip=ip,
        actor=actor,
        subject=grant.id,
        detail={"via": via},
    )


class Revocation:
    def __init__(
        self,
        store: Store[RevocationTx],
        limiter: RateLimiter,
        clock: Clock,
        settings: Settings,
        minter: AccessTokens,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        self.minter = minter

    def revoke_token(self, token: str, ip: str) -> None:
        """The seed's disconnect: the token's whole grant goes, at once. A refresh token or a
        live access token may do it; an expired access token proves nothing any more."""
        count_or_refuse(self.limiter, self.settings.revoke_limit_per_ip, "revoke-ip", ip)
        is_refresh = credentials.looks_like(token, credentials.REFRESH)
        if not is_refresh and not credentials.looks_like(token, credentials.ACCESS):
            raise InvalidGrant(REFUSED)
        now = self.clock.now()
        claims = None if is_refresh else self.minter.read(token)
        with self.store.transaction() as tx:
            digest = credentials.token_hash(token)
            grant: Grant | None = None
            if is_refresh:
                found = tx.refresh_token_context(digest)
                grant = found[1].grant if found else None
            elif len(token) == LEGACY_LENGTH:
                access = tx.access_token_context(digest)
                grant = access[1].grant if access and now < access[0].expires_at else None
            elif claims is not None and now < claims.expires_at:
                grant = tx.grant_by_id(claims.grant_id)
            if grant is None or not grant.active:
                raise InvalidGrant(REFUSED)
            revoke(tx, grant, now, ip, via="token")

    def remove_access(self, user: User, grant_id: str, ip: str) -> None:
        with self.store.transaction() as tx:
            grant = tx.grant_by_id(grant_id) if grant_id.startswith("grt_") else None
            # Someone else's grant is "not found", never "forbidden": ids are not confirmed.
            if grant is None or grant.user_id != user.id or not grant.active:
                raise NotFound("That application is not connected to your account.")
            revoke(tx, grant, self.clock.now(), ip, via="user")

    def by_operator(self, app_id: str, email: str, *, actor: str = "cli") -> None:
        """An operator removes one user's grant to one application."""
        with self.store.transaction() as tx:
            user = tx.user_by_email(normalize_email(email))
            grant = tx.active_grant(user.id, app_id) if user else None
            if grant is None:
                raise NotFound("That user has no access to that application.")
            revoke(tx, grant, self.clock.now(), "", via="operator", actor=actor)
