"""The seed's refresh: a refresh token buys a new 1-hour access token; the refresh token
itself is echoed back unchanged (the seed's partners store it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.grant_types import Exchange, Issued, Refused
from leadexec_signin.core.actions.issue import issue_tokens
from leadexec_signin.core.errors import InvalidGrant

# "Last used" of a refresh token only needs day precision (it decides retirement after months),
# so an exchange writes it at most once a day.
TOUCH_EVERY = timedelta(days=1)


def exchange(step: Exchange) -> Issued | Refused:
    if not credentials.looks_like(step.credential, credentials.REFRESH):
        raise InvalidGrant()
    tx = step.tx
    found = tx.refresh_token_context(credentials.token_hash(step.credential))
    app = step.authenticate(found[1].app if found else None)
    if found is None:
        raise InvalidGrant()
    token, ctx = found
    # Another application's refresh token is refused exactly like a made-up one.
    if not credentials.same(token.app_id, app.id) or not ctx.grant.active:
        raise InvalidGrant()
    step.count_for_app(app)
    tx.touch_grant(ctx.grant.id, step.now)
    last = token.last_used_at or token.created_at
    if step.now - last >= TOUCH_EVERY:
        tx.touch_refresh_token(token.token_hash, step.now)
    issued = issue_tokens(tx, ctx.grant, step.now, step.settings, refresh=False)
    return Issued(
        replace(issued, refresh_token=step.credential), audit.TOKEN_REFRESHED, ctx.user.id
    )
