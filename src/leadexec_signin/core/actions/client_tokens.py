"""A client asks about one of its tokens (introspection, RFC 7662) or gives one up
(revocation, RFC 7009), after authenticating as at the token endpoint.

Either way the first step is "which live token of this client is this?". A token of another
client is treated as unknown: introspection answers ``active: false`` and revocation does
nothing, both with 200, so neither endpoint tells a client anything about tokens it does not
hold (RFC 7662 section 2.2, RFC 7009 section 2.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from leadexec_signin.core import credentials, resources
from leadexec_signin.core.actions.api import ApiAccess
from leadexec_signin.core.actions.client_auth import ClientAuthenticator, ClientAuthTx, Presented
from leadexec_signin.core.actions.revocation import RevokeTx, revoke
from leadexec_signin.core.apps import Application
from leadexec_signin.core.claims import auth_context
from leadexec_signin.core.clients import NONE
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidClient, InvalidRequest, InvalidToken
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.limits import count_or_refuse
from leadexec_signin.core.ports import Factors, RateLimiter, Store, Tokens
from leadexec_signin.core.scopes import PROTOCOL_SCOPES, ordered
from leadexec_signin.settings import Settings


class ClientTokensTx(ClientAuthTx, RevokeTx, Tokens, Factors, Protocol):
    pass


@dataclass(frozen=True)
class Known:
    """A live token of the asking client."""

    grant: Grant
    kind: str  # "access_token" or "refresh_token"
    scopes: frozenset[str]
    expires_at: int | None  # Unix seconds; None: a refresh token lives until revoked
    issued_at: int | None
    amr: tuple[str, ...] | None = None  # how the user signed in (RFC 8176); None: unknown
    jkt: str | None = None  # the DPoP key an access token is bound to
    aud: str | None = None  # the resource an access token is for (RFC 8707); None: none named

    @property
    def token_type(self) -> str:
        if self.kind != "access_token":
            return "refresh_token"
        return "DPoP" if self.jkt else "Bearer"


def _scope_text(scopes: frozenset[str]) -> str:
    return " ".join([s for s in PROTOCOL_SCOPES if s in scopes] + ordered(scopes))


class ClientTokens:
    def __init__(
        self,
        store: Store[ClientTokensTx],
        limiter: RateLimiter,
        clock: Clock,
        settings: Settings,
        api: ApiAccess,
        authenticator: ClientAuthenticator,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        self.api = api
        self.authenticator = authenticator

    def _find(self, tx: ClientTokensTx, app: Application, token: str, hint: str) -> Known | None:
        """The hint only orders the lookups (RFC 7009 section 2.1); an unknown hint is
        ignored rather than refused, as the RFC allows."""
        order = ["refresh_token", "access_token"]
        if hint == "access_token":
            order.reverse()
        for kind in order:
            found = self._refresh(tx, app, token) if kind == "refresh_token" else None
            if kind == "access_token":
                found = self._access(app, token)
            if found is not None:
                return found
        return None

    def _refresh(self, tx: ClientTokensTx, app: Application, token: str) -> Known | None:
        if not credentials.looks_like(token, credentials.REFRESH):
            return None
        found = tx.refresh_token_context(credentials.token_hash(token))
        if found is None:
            return None
        refresh, ctx = found
        if (
            not credentials.same(refresh.app_id, app.id)
            or not ctx.grant.active
            or not ctx.app.serves(ctx.grant.user_id)  # development mode: its owner only
            or refresh.replaced_by is not None  # rotated: no longer a live token
        ):
            return None
        scopes = refresh.scopes if refresh.scopes is not None else ctx.grant.scopes
        issued = int(refresh.created_at.timestamp())
        # The sign-in it goes back to (OpenID Connect refresh tokens record it; the sign-in
        # API's do not).
        amr = tx.signin_methods(refresh.sid) if refresh.sid else None
        return Known(ctx.grant, "refresh_token", scopes, None, issued, amr)

    def _access(self, app: Application, token: str) -> Known | None:
        try:
            # Looked at, not presented: a DPoP-bound token is live without a proof here.
            access, ctx = self.api.check_access_token(token, inspect=True)
        except InvalidToken:
            return None
        if not credentials.same(ctx.grant.app_id, app.id):
            return None
        return Known(
            ctx.grant,
            "access_token",
            access.scopes,
            int(access.expires_at.timestamp()),
            int(access.created_at.timestamp()),
            access.amr,
            access.jkt,
            access.aud,
        )

    def _authenticate(
        self, tx: ClientTokensTx, offered: Presented, *, public_ok: bool
    ) -> Application:
        return self.authenticator.authenticate(tx, offered, self.clock.now(), public_ok=public_ok)

    def introspect(self, offered: Presented, form: Mapping[str, str], ip: str) -> dict[str, object]:
        """RFC 7662 section 2.2. Only confidential clients may ask (a resource server is one):
        a public client's id proves nothing."""
        count_or_refuse(self.limiter, self.settings.revoke_limit_per_ip, "client-tokens-ip", ip)
        token = form.get("token", "")
        if not token:
            raise InvalidRequest("token is missing.")
        with self.store.transaction() as tx:
            app = self._authenticate(tx, offered, public_ok=False)
            if app.auth_method == NONE:
                raise InvalidClient("Introspection is for confidential clients.")
            known = self._find(tx, app, token, form.get("token_type_hint", ""))
        if known is None:
            return {"active": False}
        answer: dict[str, object] = {
            "active": True,
            "scope": _scope_text(known.scopes),
            "client_id": app.client_id,
            "sub": known.grant.user_id,
            "token_type": known.token_type,
            "iss": self.settings.issuer,
        }
        if known.expires_at is not None:
            answer["exp"] = known.expires_at
        if known.issued_at is not None:
            answer["iat"] = known.issued_at
        answer.update(auth_context(known.amr))  # how the user signed in, as the ID token says
        if known.jkt:  # RFC 9449 section 6.2
            answer["cnf"] = {"jkt": known.jkt}
        if known.aud:  # RFC 7662 section 2.2: the resource the token is for (RFC 8707)
            answer["aud"] = resources.url(self.settings.issuer, known.aud)
        return answer

    def revoke(self, offered: Presented, form: Mapping[str, str], ip: str) -> None:
        """RFC 7009 section 2.1: revoking either kind of token ends its grant (the one
        "Remove access" ends), so every token of both surfaces under it stops at once."""
        count_or_refuse(self.limiter, self.settings.revoke_limit_per_ip, "client-tokens-ip", ip)
        token = form.get("token", "")
        if not token:
            raise InvalidRequest("token is missing.")
        now = self.clock.now()
        with self.store.transaction() as tx:
            app = self._authenticate(tx, offered, public_ok=True)
            known = self._find(tx, app, token, form.get("token_type_hint", ""))
            if known is not None:
                revoke(tx, known.grant, now, ip, via="oauth_revoke")
