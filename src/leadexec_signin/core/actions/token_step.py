"""The vocabulary of the one token endpoint (``token_endpoint.py``): the neutral request each
surface parses into, the policy that is all that differs between the surfaces, the step a
grant handler works on, and what it answers (fosite's ``AccessRequest`` and handlers,
node-oidc-provider's grant table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.client_auth import Client, ClientAuthTx, Presented
from leadexec_signin.core.actions.issue import IssueTx
from leadexec_signin.core.actions.revocation import RevokeTx
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.clients import PUBLIC
from leadexec_signin.core.dpop import Proof
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.ports import Audit, DeviceCodes, Factors, TokenReads, Users
from leadexec_signin.core.resources import check_resource, narrow
from leadexec_signin.core.tokens import RefreshGrant
from leadexec_signin.settings import Settings


class TokenTx(ClientAuthTx, IssueTx, RevokeTx, Audit, Users, Factors, DeviceCodes, Protocol):
    pass


@dataclass(frozen=True)
class TokenRequest:
    """One call to a token endpoint in neutral terms. ``params`` holds the grant's
    parameters by their RFC 6749 names whatever the surface called them (the sign-in API's
    ``refreshToken`` is ``refresh_token`` here); a handler reads only those it declares."""

    surface: str  # a key of ``token_endpoint.POLICIES``
    grant_type: str  # as the surface names it
    params: Mapping[str, str]
    client: Presented
    ip: str
    # RFC 9449: the DPoP header as sent (None: none), and the URL it must name (htu).
    dpop: str | None = None
    htu: str = ""


@dataclass(frozen=True)
class Signin:
    """The sign-in behind a token: repeated in every ID token issued under it."""

    auth_time: datetime | None
    sid: str
    nonce: str = ""
    amr: tuple[str, ...] | None = None  # the session's sign-in methods, read when answering


@dataclass(frozen=True)
class Issued:
    """Tokens issued by any grant type of either surface; each renders its own shape."""

    access_token: str
    expires_at: datetime
    expires_in: int
    scopes: frozenset[str]
    refresh_token: str | None
    id_token: str | None = None
    origins: tuple[str, ...] = ()  # the client's registered origins (the answer's CORS)
    token_type: str = "Bearer"  # "DPoP" for a token bound to a key (RFC 9449 section 5)


@dataclass(frozen=True)
class Refused:
    """A refusal whose own writes must stay (a replayed code or refresh token revokes the
    grant): raised after the transaction commits instead of inside it."""

    error: SigninError


@dataclass(frozen=True)
class Step:
    """What a grant handler works on: the request, its surface's policy, the open unit of
    work, the token reads and the tools to answer."""

    request: TokenRequest
    policy: Policy
    tx: TokenTx
    reads: TokenReads
    now: datetime
    settings: Settings
    minter: AccessTokens
    usage: UsageLog
    declared: frozenset[str]  # the parameters its handler declared: all it may read
    proof: Proof | None = None  # the request's DPoP proof, checked and used

    def refresh_binding(self, client: Client) -> str | None:
        """The key a new refresh token is bound to: a public client's DPoP key (RFC 9449
        section 5); a confidential client's tokens are bound by its authentication."""
        reg = client.registration
        if self.proof is None or reg is None or reg.client_type != PUBLIC:
            return None
        return self.proof.jkt

    def resource(self, granted: str | None) -> str | None:
        """The resource the tokens are for (RFC 8707 section 2.2): what ``granted`` (the code
        or refresh token) was for, or the one this request names if that named none."""
        return narrow(granted, check_resource(self.settings.issuer, self.param("resource")))

    def param(self, name: str) -> str:
        """A declared parameter, "" when absent."""
        return self.optional(name) or ""

    def optional(self, name: str) -> str | None:
        """A declared parameter, None when absent (an empty one is "")."""
        if name not in self.declared:
            raise LookupError(f"{name} is not a parameter this grant type declared")
        return self.request.params.get(name)


class Answer(Protocol):
    """How a surface answers with tokens (``token_answers.py``)."""

    def __call__(
        self,
        step: Step,
        client: Client,
        grant: Grant,
        scopes: frozenset[str],
        signin: Signin,
        refresh_token: str | None,
        resource: str | None = None,
    ) -> Issued: ...


@dataclass(frozen=True)
class Policy:
    """All that differs between the sign-in API's ``/api/token`` and ``/oauth2/token``."""

    name: str  # the surface, as metrics and the audit trail name it
    grant_types: Mapping[str, GrantHandler]
    unsupported: Callable[[str], SigninError]  # an unknown grant type, in the surface's words
    refresh_kind: str  # the refresh tokens it accepts: its own ("seed" or "oauth")
    pkce: bool  # codes carry a PKCE challenge (OAuth 2.1), or none (hardened delivery)
    # A refresh token only with offline_access, bound to the scopes asked (OpenID Connect
    # Core section 11); else one always, following its grant as it widens.
    offline_access: bool
    rotation: bool  # refresh tokens rotate where the client registered it
    answer: Answer
    dpop: bool = False  # DPoP proofs are read (RFC 9449); the sign-in API has no token_type


@dataclass(frozen=True)
class Ahead:
    """A refresh token's read, done before the exchange by whoever decided where it runs
    (``storage/placement.py``): the exchange then reads nothing."""

    found: RefreshGrant | None


class GrantHandler(Protocol):
    """One grant type. The endpoint calls, in order: ``look_up`` (the read that can come
    before authentication, so the client is authenticated from what it joined), then
    ``verify`` (the grant's own credential), then, once the application's limit is counted,
    ``issue``."""

    params: frozenset[str]  # the request parameters it reads
    flush_usage_first: bool  # batched "last used" times written before it runs

    def writes(self, policy: Policy) -> bool:
        """Whether it needs a write transaction (else a read-only unit, no lock)."""
        ...

    def read_ahead(self, request: TokenRequest, policy: Policy) -> str | None:
        """The refresh token hash whose one read is all this request needs, or None."""
        ...

    def rotation(self, request: TokenRequest, policy: Policy) -> str | None:
        """The refresh token hash whose read and one conditional write (its rotation) are
        all this request needs, or None."""
        ...

    def look_up(self, step: Step, ahead: Ahead | None) -> RefreshGrant | None: ...

    def verify(self, step: Step, client: Client, found: RefreshGrant | None) -> object:
        """What ``issue`` needs, or a :class:`Refused`."""
        ...

    def issue(self, step: Step, client: Client, verified: object) -> Issued | Refused: ...
