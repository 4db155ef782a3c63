"""The LeadExec API's one check: is this access token live, and for whom (RFC 6750).

A self-proving token is checked by its MAC and expiry, then against its grant (one read,
cached per grant for at most ``token_cache_ms``): a revoked grant or a suspended application
ends every token at once. Tokens of the first format are still looked up by hash.

RFC 8707: a token names the resource it is for (its audience), and each resource takes only
its own (``core/resources.py``: a token that named none is the LeadExec API's, as before).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadexec_signin.core import credentials, jwts, resources
from leadexec_signin.core.access_tokens import LEGACY_LENGTH
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.claims import auth_context, id_token_claims
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.dpop import Proof
from leadexec_signin.core.errors import InsufficientScope, InvalidDpopToken, InvalidToken
from leadexec_signin.core.ports import GrantLookup
from leadexec_signin.core.scopes import OPENID
from leadexec_signin.core.tokens import AccessToken, GrantContext
from leadexec_signin.settings import Settings


class ApiAccess:
    def __init__(
        self,
        lookup: GrantLookup,
        minter: AccessTokens,
        clock: Clock,
        settings: Settings,
        keys: SigningKeys,
    ) -> None:
        self.lookup = lookup
        self.minter = minter
        self.clock = clock
        self.keys = keys
        self.issuer = settings.issuer
        self.ttl = timedelta(seconds=settings.access_token_ttl_seconds)

    def check_access_token(
        self,
        token: str | None,
        known: GrantContext | None = None,
        proof: Proof | None = None,
        *,
        inspect: bool = False,
        served: str = resources.API,
    ) -> tuple[AccessToken, GrantContext]:
        """``known``: the token's grant, already in hand (the token cache's): nothing is read.
        ``proof``: the DPoP proof that came with it (``Authorization: DPoP``), already checked
        against this request and this token (``ath``). ``inspect``: looked at by its client
        (introspection), not presented for access: its binding and audience are not checked.
        ``served``: the resource it is presented at (RFC 8707)."""
        if token and token.startswith("eyJ"):
            found = self._jwt(token)
        elif not token or not credentials.looks_like(token, credentials.ACCESS):
            raise InvalidToken()
        elif len(token) == LEGACY_LENGTH:
            found = self._legacy(token)
        else:
            found = self._proven(token, known)
        if found is None:
            raise InvalidToken()
        access, ctx = found
        if (
            self.clock.now() >= access.expires_at
            or not ctx.grant.active
            or ctx.user.disabled
            # Approved, or in development mode and this is its owner's grant.
            or not ctx.app.serves(ctx.grant.user_id)
            or ctx.grant.id != access.grant_id
        ):
            raise InvalidToken()
        # RFC 9449 section 7: a bound token only with a proof of its key, and a DPoP
        # presentation only for a token bound to the proof's key.
        if inspect:
            return found
        if not resources.accepts(served, access.aud):
            raise InvalidToken("This access token was issued for another resource.")
        if proof is None:
            if access.jkt is not None:
                raise InvalidDpopToken()
        elif access.jkt is None:
            raise InvalidDpopToken(
                "This access token is not bound to a DPoP key: send it as Bearer."
            )
        elif access.jkt != proof.jkt:
            raise InvalidDpopToken(
                "The DPoP proof is not of the key this access token is bound to."
            )
        return found

    def _proven(
        self, token: str, known: GrantContext | None
    ) -> tuple[AccessToken, GrantContext] | None:
        claims = self.minter.read(token, load=known is None)
        if claims is None or self.clock.now() >= claims.expires_at:
            return None  # expired tokens cost no read
        if known is not None:
            ctx = known if known.grant.id == claims.grant_id else None
        else:
            ctx = self.lookup.grant_context(claims.grant_id)
        if ctx is None:
            return None
        access = AccessToken(
            token_hash=credentials.token_hash(token),
            grant_id=claims.grant_id,
            app_id=ctx.grant.app_id,
            scopes=claims.scopes,
            expires_at=claims.expires_at,
            created_at=claims.expires_at - self.ttl,
            amr=claims.amr,
            jkt=claims.jkt,
            aud=claims.aud,
        )
        return access, ctx

    def _jwt(self, token: str) -> tuple[AccessToken, GrantContext] | None:
        """An RFC 9068 access token (applications that chose them): our signature, our
        audience, then its grant, read as for opaque tokens."""
        claims = jwts.read_own(
            token,
            self.keys.published(),
            audience=[resources.url(self.issuer, r) for r in resources.RESOURCES],
            issuer=self.issuer,
            typ=jwts.ACCESS_TOKEN_TYP,
        )
        grant_id = claims.get("grant_id") if claims else None
        if not claims or not isinstance(grant_id, str):
            return None
        ctx = self.lookup.grant_context(grant_id)
        if ctx is None or ctx.user.id != claims.get("sub"):
            return None
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        access = AccessToken(
            token_hash=credentials.token_hash(token),
            grant_id=grant_id,
            app_id=ctx.grant.app_id,
            scopes=frozenset(str(claims.get("scope", "")).split()),
            expires_at=expires,
            created_at=datetime.fromtimestamp(int(claims.get("iat", 0)), UTC),
            amr=_amr_claim(claims.get("amr")),
            jkt=jkt if isinstance(jkt, str) else None,
            aud=_audience(claims.get("aud"), self.issuer),
        )
        return access, ctx

    def userinfo(
        self, token: str | None, known: GrantContext | None = None, proof: Proof | None = None
    ) -> dict[str, object]:
        """OpenID Connect Core section 5.3: the claims the token's scopes release. Needs the
        ``openid`` scope, as the specification does: a seed token is for ``/api/v1``. With
        them ``amr`` and ``acr``: how the user signed in for this token, as its ID token says
        (the token carries them, so this reads nothing more)."""
        access, ctx = self.check_access_token(token, known, proof)
        if OPENID not in access.scopes:
            raise InsufficientScope(OPENID, "This access token was not issued for OpenID Connect.")
        claims = id_token_claims(ctx.user, access.scopes & ctx.grant.scopes)
        claims.update(auth_context(access.amr))
        return claims

    def _legacy(self, token: str) -> tuple[AccessToken, GrantContext] | None:
        found = self.lookup.access_token_context(credentials.token_hash(token))
        if found is None:
            return None
        access, ctx = found
        return access, GrantContext(ctx.grant, ctx.app.credentials, ctx.user)


def _audience(value: object, issuer: str) -> str | None:
    """The resource an RFC 9068 token's ``aud`` names (ours, one; PyJWT checked it is)."""
    for resource in resources.RESOURCES:
        if value == resources.url(issuer, resource):
            return resource
    return None


def _amr_claim(value: object) -> tuple[str, ...] | None:
    """An RFC 9068 token's ``amr`` (ours: signed), as a tuple; None when it has none."""
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        return None
    return tuple(value) or None
