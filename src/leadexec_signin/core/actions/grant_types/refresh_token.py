"""The seed's refresh: a refresh token buys a new 1-hour access token; the refresh token
itself is echoed back unchanged (the seed's partners store it).

One read and no write: the access token proves itself, "last used" goes to the batched usage
log, and a successful refresh is not an audit event (refusals are logged). So the exchange runs
in a read transaction and never waits for SQLite's write lock.
"""

from __future__ import annotations

from datetime import timedelta

from leadexec_signin.core import credentials
from leadexec_signin.core.actions.grant_types import Exchange, Issued, Refused
from leadexec_signin.core.errors import InvalidClient, InvalidGrant
from leadexec_signin.core.tokens import IssuedTokens


def exchange(step: Exchange) -> Issued | Refused:
    if not credentials.looks_like(step.credential, credentials.REFRESH):
        raise InvalidGrant()
    found = step.tx.refresh_grant(credentials.token_hash(step.credential))
    app = step.authenticate(found.app if found else None)
    if found is None:
        raise InvalidGrant()
    grant = found.grant
    # Another application's refresh token is refused exactly like a made-up one.
    if not credentials.same(found.app_id, app.id) or not grant.active:
        raise InvalidGrant()
    if not app.serves(grant.user_id):  # development mode: only the owner's tokens
        raise InvalidClient(f"The application is {app.status}.")
    step.count_for_app(app)
    step.usage.used(
        grant.id,
        grant.last_used_at,
        found.token_hash,
        found.last_used_at,
        step.now,
    )
    expires = step.now + timedelta(seconds=step.settings.access_token_ttl_seconds)
    access = step.minter.mint(grant.id, grant.scopes, expires)
    return Issued(IssuedTokens(step.credential, access, expires, grant.scopes), "", grant.user_id)
