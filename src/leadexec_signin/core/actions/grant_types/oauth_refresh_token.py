"""The standard refresh_token grant (RFC 6749 section 6) with rotation (OAuth 2.1 section
4.3.1; RFC 9700 section 4.14.2).

Rotation: each use of a rotating client's refresh token answers with a successor and retires
the token used. Presenting a retired token again betrays a copy (the client or a thief holds
an old one), so the grant is revoked. One exception, which no specification defines: within
``refresh_grace_seconds`` of its rotation, a retired token whose successor has not been used
yet is answered with that same successor. A response lost on the network, or two tabs
refreshing at once, then keep the grant alive instead of killing it; the successor is derived
from the old token under a server key (``AccessTokens.successors``), so nothing readable is
stored to make that possible.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.oauth_minting import Refusal, Signin, TokenResponse, TokenStep
from leadexec_signin.core.actions.revocation import revoke
from leadexec_signin.core.errors import InvalidClient, InvalidGrant, InvalidRequest, InvalidScope
from leadexec_signin.core.tokens import RefreshToken

REFUSED = "The refresh token is not valid or has been revoked."


def exchange(step: TokenStep) -> TokenResponse | Refusal:
    form, tx, app, now = step.form, step.tx, step.app, step.now
    raw = form.get("refresh_token", "")
    if not raw:
        raise InvalidRequest("refresh_token is missing.")
    if not credentials.looks_like(raw, credentials.REFRESH):
        raise InvalidGrant(REFUSED)
    found = tx.refresh_token_context(credentials.token_hash(raw))
    if found is None:
        raise InvalidGrant(REFUSED)
    token, ctx = found
    grant = ctx.grant
    # Another client's token, or one of the seed's (rotated there never), is refused exactly
    # like a made-up one.
    if token.kind != "oauth" or not credentials.same(token.app_id, app.id) or not grant.active:
        raise InvalidGrant(REFUSED)
    if not app.serves(grant.user_id):  # development mode: only the owner's tokens
        raise InvalidClient(f"The application is {app.status}.")
    scopes = token.scopes if token.scopes is not None else grant.scopes
    asked = form.get("scope")
    if asked is not None:
        narrower = frozenset(asked.split())
        if not narrower or not narrower <= scopes:
            raise InvalidScope("A refresh may only narrow the scope it was granted.")
        scopes = narrower
    signin = Signin(token.auth_time, token.sid)
    if not app.rotate_refresh_tokens:
        step.usage.used(grant.id, grant.last_used_at, token.token_hash, token.last_used_at, now)
        return step.minting.answer(tx, app, grant, scopes, signin, raw, now)
    successor = _rotate(step, raw, token)
    if successor is None:
        revoke(tx, grant, now, step.ip, via="refresh_reuse")
        audit.record(tx, now, audit.REFRESH_REUSED, user_id=grant.user_id, app_id=app.id)
        return Refusal(InvalidGrant(REFUSED))
    return step.minting.answer(tx, app, grant, scopes, signin, successor, now)


def _rotate(step: TokenStep, raw: str, token: RefreshToken) -> str | None:
    """The successor to answer with, or None when the token was reused."""
    tx, now = step.tx, step.now
    candidates = step.minter.successors(raw)
    if token.replaced_by is None:
        successor = candidates[0]
        fresh = replace(
            token,
            token_hash=credentials.token_hash(successor),
            created_at=now,
            last_used_at=None,
            replaced_by=None,
            rotated_at=None,
        )
        if tx.rotate_refresh_token(token.token_hash, fresh, now):
            return successor
        # Rotated in between by a request that held the grant's lock first: read it again.
        token = tx.refresh_token_by_hash(token.token_hash) or token
        if token.replaced_by is None:
            return None
    grace = timedelta(seconds=step.settings.refresh_grace_seconds)
    if token.rotated_at is None or now - token.rotated_at > grace:
        return None
    for successor in candidates:
        if credentials.token_hash(successor) != token.replaced_by:
            continue
        current = tx.refresh_token_by_hash(token.replaced_by)
        # Only while the successor itself is unused: once the client moved on, the old
        # token coming back is a copy.
        if current is not None and current.replaced_by is None:
            return successor
    return None
