"""Hardened delivery's code: exchanged once, by the application's backend with its secret,
for the refresh and access tokens that never went through the browser.

A code presented a second time means it leaked: everything its first exchange issued is
revoked (RFC 6749 section 4.1.2) by revoking its grant.
"""

from __future__ import annotations

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.grant_types import Exchange, Issued, Refused
from leadexec_signin.core.actions.issue import issue_tokens
from leadexec_signin.core.actions.revocation import revoke
from leadexec_signin.core.errors import InvalidClient, InvalidGrant

REFUSED = "The code is not valid, was already used or has expired."


def exchange(step: Exchange) -> Issued | Refused:
    if not credentials.looks_like(step.credential, credentials.CODE):
        raise InvalidGrant(REFUSED)
    tx = step.tx
    app = step.authenticate(None)
    if not app.requires_secret:
        raise InvalidClient("Codes are exchanged only by applications with a secret.")
    step.count_for_app(app)
    taken = tx.consume_code(credentials.token_hash(step.credential), step.now)
    if taken is None:
        raise InvalidGrant(REFUSED)
    code, first_use = taken
    grant = tx.grant_by_id(code.grant_id)
    # A standard authorization code (it has a PKCE challenge) belongs to /oauth2/token only.
    if grant is None or not credentials.same(code.app_id, app.id) or code.code_challenge:
        raise InvalidGrant(REFUSED)
    if not app.serves(grant.user_id):  # development mode: only the owner's codes
        raise InvalidClient(f"The application is {app.status}.")
    if not first_use:
        if grant.active:
            revoke(tx, grant, step.now, "", via="code_replay")
            audit.record(tx, step.now, audit.CODE_REPLAYED, user_id=grant.user_id, app_id=app.id)
        return Refused(InvalidGrant(REFUSED))
    if not grant.active or step.now >= code.expires_at:
        raise InvalidGrant(REFUSED)
    issued = issue_tokens(tx, grant, step.now, step.settings, step.minter, refresh=True)
    return Issued(issued, audit.CODE_EXCHANGED, grant.user_id)
