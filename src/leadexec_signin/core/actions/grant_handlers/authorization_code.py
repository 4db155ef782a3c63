"""The authorization code grant (RFC 6749 section 4.1.3), for both surfaces, with PKCE as
policy: the standard surface's codes carry a challenge and are bound to their redirect URI
(RFC 7636 section 4.6), hardened delivery's carry none and are exchanged only by an
application with a secret. Each surface refuses the other's codes.

A code presented a second time means it leaked: the grant is revoked, and with it everything
the first exchange issued (RFC 6749 section 4.1.2; RFC 9700 section 4.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.client_auth import Client
from leadexec_signin.core.actions.issue import add_refresh_token
from leadexec_signin.core.actions.revocation import revoke
from leadexec_signin.core.actions.token_step import (
    Ahead,
    Issued,
    Policy,
    Refused,
    Signin,
    Step,
    TokenRequest,
)
from leadexec_signin.core.clients import verify_code_verifier
from leadexec_signin.core.errors import InvalidClient, InvalidGrant, InvalidRequest
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.scopes import OFFLINE_ACCESS
from leadexec_signin.core.self_registered import scopes_still_allowed
from leadexec_signin.core.tokens import AuthorizationCode, RefreshGrant

REFUSED = "The code is not valid, was already used or has expired."


@dataclass(frozen=True)
class Verified:
    code: AuthorizationCode
    grant: Grant
    resource: str | None = None


def check_verifier(code: AuthorizationCode, verifier: str) -> None:
    """PKCE as the code was issued, with downgrade protection (RFC 9700 section 2.1.1): a
    code issued with a challenge needs its verifier, and a code issued without one is
    refused when a verifier comes anyway (a client that sent no challenge sends no
    verifier: one that does was stripped of its challenge on the way). A code without one
    was issued only to a client registered with PKCE optional."""
    if not code.code_challenge:
        if verifier:
            raise InvalidGrant("code_verifier was sent for a code issued without PKCE.")
        return
    if not verifier:
        raise InvalidRequest("code_verifier is missing (PKCE).")
    if not verify_code_verifier(verifier, code.code_challenge, code.code_challenge_method):
        raise InvalidGrant("code_verifier does not match the code_challenge.")


class AuthorizationCodeGrant:
    params = frozenset({"code", "redirect_uri", "code_verifier", "resource"})
    # The new refresh token is followed by the per-grant cap of never-used tokens: tokens
    # this process saw used must be marked so first.
    flush_usage_first = True

    def writes(self, policy: Policy) -> bool:
        return True

    def read_ahead(self, request: TokenRequest, policy: Policy) -> str | None:
        return None

    def rotation(self, request: TokenRequest, policy: Policy) -> str | None:
        return None

    def look_up(self, step: Step, ahead: Ahead | None) -> RefreshGrant | None:
        return None

    def verify(self, step: Step, client: Client, found: RefreshGrant | None) -> object:
        tx, now, pkce = step.tx, step.now, step.policy.pkce
        raw = step.param("code")
        if not raw:
            raise InvalidRequest("code is missing.")
        if pkce and not step.param("redirect_uri"):
            raise InvalidRequest("redirect_uri is missing.")
        if not credentials.looks_like(raw, credentials.CODE):
            raise InvalidGrant(REFUSED)
        if not pkce and not client.credentials.requires_secret:
            raise InvalidClient("Codes are exchanged only by applications with a secret.")
        taken = tx.consume_code(credentials.token_hash(raw), now)
        # A code of the other surface is refused like a made-up one: the standard surface's
        # codes are bound to a redirect URI, hardened delivery's to none.
        if taken is None or bool(taken[0].redirect_uri) != pkce:
            raise InvalidGrant(REFUSED)
        code, first_use = taken
        grant = tx.grant_by_id(code.grant_id)
        if grant is None or not credentials.same(code.app_id, client.id):
            raise InvalidGrant(REFUSED)
        if not client.serves(grant.user_id):  # development mode: only the owner's codes
            raise InvalidClient(f"The application is {client.credentials.status}.")
        if not first_use:
            if grant.active:
                revoke(tx, grant, now, step.request.ip, via="code_replay")
                audit.record(tx, now, audit.CODE_REPLAYED, user_id=grant.user_id, app_id=client.id)
            return Refused(InvalidGrant(REFUSED))
        if not grant.active or now >= code.expires_at:
            raise InvalidGrant(REFUSED)
        if pkce:
            # Exactly the string the authorization request sent (RFC 6749 section 4.1.3).
            if step.param("redirect_uri") != code.redirect_uri:
                raise InvalidGrant("redirect_uri differs from the authorization request's.")
            check_verifier(code, step.param("code_verifier"))
        if code.dpop_jkt is not None and (step.proof is None or step.proof.jkt != code.dpop_jkt):
            # RFC 9449 section 10: the code was bound to a key at the authorization request.
            raise InvalidGrant("This code is bound to a DPoP key: prove that key to redeem it.")
        return Verified(code, grant, step.resource(code.resource))

    def issue(self, step: Step, client: Client, verified: object) -> Issued | Refused:
        assert isinstance(verified, Verified)
        code, grant, policy = verified.code, verified.grant, step.policy
        scopes = code.scopes if code.scopes is not None else grant.scopes
        # The operator may have narrowed what self-registered clients get since the consent.
        scopes = scopes_still_allowed(
            client.registration, scopes, step.settings.self_registered_scopes
        )
        refresh = None
        if not policy.offline_access or OFFLINE_ACCESS in scopes:
            # OAuth's refresh tokens keep the scopes asked for; the sign-in API's follow the
            # grant as it widens.
            refresh = add_refresh_token(
                step.tx, grant, step.now, step.settings,
                scopes=scopes if policy.offline_access else None, kind=policy.refresh_kind,
                auth_time=code.auth_time, sid=code.sid, dpop_jkt=step.refresh_binding(client),
                resource=verified.resource,
            )  # fmt: skip
        audit.record(
            step.tx, step.now, audit.CODE_EXCHANGED,
            user_id=grant.user_id, app_id=client.id, ip=step.request.ip,
        )  # fmt: skip
        signin = Signin(code.auth_time, code.sid, code.nonce)
        return policy.answer(step, client, grant, scopes, signin, refresh, verified.resource)
