"""The refresh_token grant (RFC 6749 section 6), for both surfaces, with rotation as policy.

The sign-in API's refresh buys a new 1-hour access token and echoes the refresh token (its
partners store it). It is one read and no write: the access token proves itself, "last used"
goes to the batched usage log and a successful refresh is no audit event, so it runs in a
read-only unit, its read answered by the token cache when it can.

The standard surface rotates where the client registered it (OAuth 2.1 section 4.3.1; RFC
9700 section 4.14.2): each use answers with a successor and retires the token used, and a
retired token presented again betrays a copy, so the grant is revoked. One exception, which
no specification defines: within ``refresh_grace_seconds`` of its rotation, a retired token
whose successor has not been used yet is answered with that same successor, so a lost
response or two tabs refreshing at once keep the grant alive. The successor is derived from
the old token under a server key (``AccessTokens.successors``): nothing readable is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.actions.client_auth import Client
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
from leadexec_signin.core.errors import InvalidClient, InvalidGrant, InvalidRequest, InvalidScope
from leadexec_signin.core.scopes import OFFLINE_ACCESS
from leadexec_signin.core.self_registered import scopes_still_allowed
from leadexec_signin.core.tokens import RefreshGrant, RefreshToken


@dataclass(frozen=True)
class Verified:
    raw: str
    found: RefreshGrant
    scopes: frozenset[str]
    resource: str | None = None


class RefreshTokenGrant:
    params = frozenset({"refresh_token", "scope", "resource"})
    flush_usage_first = False

    def writes(self, policy: Policy) -> bool:
        return policy.rotation

    def read_ahead(self, request: TokenRequest, policy: Policy) -> str | None:
        raw = request.params.get("refresh_token", "")
        if policy.rotation or not credentials.looks_like(raw, credentials.REFRESH):
            return None
        return credentials.token_hash(raw)

    def rotation(self, request: TokenRequest, policy: Policy) -> str | None:
        raw = request.params.get("refresh_token", "")
        if not policy.rotation or not credentials.looks_like(raw, credentials.REFRESH):
            return None
        return credentials.token_hash(raw)

    def look_up(self, step: Step, ahead: Ahead | None) -> RefreshGrant | None:
        """Without rotation nothing is written: the read may come from the token cache, and
        before authentication (it joins the application's credentials: a query fewer)."""
        if ahead is not None:
            return ahead.found
        key = self.read_ahead(step.request, step.policy)
        return step.reads.refresh_grant(key) if key is not None else None

    def verify(self, step: Step, client: Client, found: RefreshGrant | None) -> object:
        raw = step.param("refresh_token")
        if not raw:
            raise InvalidRequest("refresh_token is missing.")
        if not credentials.looks_like(raw, credentials.REFRESH):
            raise InvalidGrant()
        if step.policy.rotation:  # read under the grant's lock: the exchange writes under it
            found = step.tx.refresh_grant(credentials.token_hash(raw), lock=True)
        if found is None:
            raise InvalidGrant()
        grant = found.grant
        # Another application's token, or the other surface's, is refused exactly like a
        # made-up one: rotation cannot be side-stepped through the sign-in API.
        if (
            found.token.kind != step.policy.refresh_kind
            or not credentials.same(found.app_id, client.id)
            or not grant.active
        ):
            raise InvalidGrant()
        if not client.serves(grant.user_id):  # development mode: only the owner's tokens
            raise InvalidClient(f"The application is {client.credentials.status}.")
        bound = found.token.dpop_jkt
        # RFC 9449 section 5: a public client's bound token is refreshed only with its key.
        if bound is not None and (step.proof is None or step.proof.jkt != bound):
            raise InvalidGrant("This refresh token is bound to a DPoP key: prove that key.")
        scopes = found.token.scopes if found.token.scopes is not None else grant.scopes
        allowed = step.settings.self_registered_scopes
        registration = client.registration
        if registration is not None and not registration.reviewed:
            # A self-registered client keeps working offline only while the operator allows
            # it; and it is given only the scopes allowed now (the setting may have narrowed).
            if OFFLINE_ACCESS not in allowed:
                raise InvalidGrant(
                    "Applications that registered themselves are no longer given refresh "
                    "tokens here: sign in again."
                )
            scopes = scopes_still_allowed(registration, scopes, allowed)
        asked = step.optional("scope")
        if asked is not None:
            narrower = frozenset(asked.split())
            if not narrower or not narrower <= scopes:
                raise InvalidScope("A refresh may only narrow the scope it was granted.")
            scopes = narrower
        # RFC 8707 section 2.2: the refresh token's resource, which the request may repeat.
        return Verified(raw, found, scopes, step.resource(found.token.resource))

    def issue(self, step: Step, client: Client, verified: object) -> Issued | Refused:
        assert isinstance(verified, Verified)
        raw, found, scopes, aud = verified.raw, verified.found, verified.scopes, verified.resource
        grant, token = found.grant, found.token
        signin = Signin(token.auth_time, token.sid)
        registration = client.registration
        if registration is None or not registration.rotate_refresh_tokens:
            step.usage.used(
                grant.id, grant.last_used_at, token.token_hash, token.last_used_at, step.now
            )
            return step.policy.answer(step, client, grant, scopes, signin, raw, aud)
        successor = _rotate(step, raw, token)
        if successor is None:  # a retired token came back: the grant ends
            revoke(step.tx, grant, step.now, step.request.ip, via="refresh_reuse")
            audit.record(
                step.tx, step.now, audit.REFRESH_REUSED, user_id=grant.user_id, app_id=client.id
            )
            return Refused(InvalidGrant())
        step.usage.grant_used(grant.id, grant.last_used_at, step.now)
        return step.policy.answer(step, client, grant, scopes, signin, successor, aud)


def _rotate(step: Step, raw: str, token: RefreshToken) -> str | None:
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
