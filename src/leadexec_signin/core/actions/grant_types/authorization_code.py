"""The authorization code grant (RFC 6749 section 4.1.3, RFC 7636 section 4.6): a code from
``/oauth2/authorize``, single use, bound to its client, redirect URI and PKCE challenge.

A code presented a second time means it leaked: the grant is revoked, and with it everything
the first exchange issued (RFC 6749 section 4.1.2; RFC 9700 section 4.5).
"""

from __future__ import annotations

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.issue import add_refresh_token
from leadexec_signin.core.actions.oauth_minting import Refusal, Signin, TokenResponse, TokenStep
from leadexec_signin.core.actions.revocation import revoke
from leadexec_signin.core.clients import verify_code_verifier
from leadexec_signin.core.errors import InvalidClient, InvalidGrant, InvalidRequest
from leadexec_signin.core.scopes import OFFLINE_ACCESS

REFUSED = "The code is not valid, was already used or has expired."


def exchange(step: TokenStep) -> TokenResponse | Refusal:
    form, tx, app, now = step.form, step.tx, step.app, step.now
    raw = form.get("code", "")
    if not raw:
        raise InvalidRequest("code is missing.")
    if not form.get("redirect_uri"):
        raise InvalidRequest("redirect_uri is missing.")
    if not credentials.looks_like(raw, credentials.CODE):
        raise InvalidGrant(REFUSED)
    taken = tx.consume_code(credentials.token_hash(raw), now)
    # A hardened-delivery code (no PKCE challenge) belongs to the seed's /api/token only.
    if taken is None or not taken[0].code_challenge:
        raise InvalidGrant(REFUSED)
    code, first_use = taken
    grant = tx.grant_by_id(code.grant_id)
    if grant is None or not credentials.same(code.app_id, app.id):
        raise InvalidGrant(REFUSED)
    if not app.serves(grant.user_id):  # development mode: only the owner's codes
        raise InvalidClient(f"The application is {app.status}.")
    if not first_use:
        if grant.active:
            revoke(tx, grant, now, step.ip, via="code_replay")
            audit.record(tx, now, audit.CODE_REPLAYED, user_id=grant.user_id, app_id=app.id)
        return Refusal(InvalidGrant(REFUSED))
    if not grant.active or now >= code.expires_at:
        raise InvalidGrant(REFUSED)
    # Exactly the string the authorization request sent (RFC 6749 section 4.1.3).
    if form["redirect_uri"] != code.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the authorization request's.")
    verifier = form.get("code_verifier", "")
    if not verifier:
        raise InvalidRequest("code_verifier is missing (PKCE).")
    if not verify_code_verifier(verifier, code.code_challenge, code.code_challenge_method):
        raise InvalidGrant("code_verifier does not match the code_challenge.")
    scopes = code.scopes if code.scopes is not None else grant.scopes
    refresh = None
    if OFFLINE_ACCESS in scopes:
        refresh = add_refresh_token(
            tx, grant, now, step.settings,
            scopes=scopes, kind="oauth", auth_time=code.auth_time, sid=code.sid,
        )  # fmt: skip
    audit.record(tx, now, audit.CODE_EXCHANGED, user_id=grant.user_id, app_id=app.id, ip=step.ip)
    signin = Signin(code.auth_time, code.sid, code.nonce)
    return step.minting.answer(tx, app, grant, scopes, signin, refresh, now)
