"""The one token endpoint, behind ``/api/token`` and ``/oauth2/token`` (RFC 6749 section 3.2;
OpenID Connect Core section 3.1.3): every request takes the same steps, in this order:

1. admit: a grant type the surface knows, a well-formed client id, the address under its
   limit (counted once, before any read);
2. authenticate the client (``ClientAuthenticator.client``: the sign-in API's ``appSecret``
   is its form of client_secret_post);
3. verify the grant's own credential (the handler: a code, a refresh token);
4. count the request against the application's limit, only now: a client id is public, and
   strangers' failures must not use up a partner's budget;
5. issue (the handler, answering in its surface's shape through ``Policy.answer``);
and a refusal at any step is recorded in the audit trail (``RefusalLog``).

A grant type is a handler in ``grant_handlers/`` and a line in a policy's table; what differs
between the two surfaces is a :class:`Policy`, never a branch here. Where a request runs (the
event loop or a thread, its read done ahead or not) is decided outside, by
``storage/placement.py``, which calls :meth:`admit` and then :meth:`handle`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.apps import APP_ID
from leadexec_signin.core.actions.audit_trail import record_refusal
from leadexec_signin.core.actions.client_auth import APP_SECRET, Client, ClientAuthenticator
from leadexec_signin.core.actions.client_documents import ClientDocuments
from leadexec_signin.core.actions.dpop import Dpop
from leadexec_signin.core.actions.grant_handlers.authorization_code import (
    AuthorizationCodeGrant,
)
from leadexec_signin.core.actions.grant_handlers.device_code import GRANT_TYPE as DEVICE_CODE
from leadexec_signin.core.actions.grant_handlers.device_code import DeviceCodeGrant
from leadexec_signin.core.actions.grant_handlers.refresh_token import RefreshTokenGrant
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.token_answers import Answers
from leadexec_signin.core.actions.token_step import (
    Ahead,
    GrantHandler,
    Issued,
    Policy,
    Refused,
    Step,
    TokenRequest,
    TokenTx,
)
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.client_documents import DocumentRefused, refused_client
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.dpop import Proof
from leadexec_signin.core.errors import (
    InvalidClient,
    InvalidDpopProof,
    InvalidRequest,
    SigninError,
    UnsupportedGrantType,
)
from leadexec_signin.core.limits import Counter, count_or_refuse
from leadexec_signin.core.ports import Audit, RateLimiter, Reader, Store, TokenReads
from leadexec_signin.settings import Settings

SEED, OAUTH = "api", "oauth2"
CODE = AuthorizationCodeGrant()
REFRESH = RefreshTokenGrant()
DEVICE = DeviceCodeGrant()


class TokenStore(Store[TokenTx], Reader[TokenTx], Protocol):
    pass


class RefusalLog(Protocol):
    """Step 5's port: where a refusal's audit row goes. The endpoint's own writes it at once;
    a caller running the exchange where it must not wait on the database passes one that
    keeps it for a thread (``storage/placement.py``)."""

    def record(self, exc: SigninError, request: TokenRequest) -> None: ...


class AuditRefusals:
    def __init__(self, store: Store[Audit], clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(self, exc: SigninError, request: TokenRequest) -> None:
        record_refusal(
            self.store,
            self.clock,
            exc,
            client_id=request.client.client_id,
            grant_type=request.grant_type,
        )


@dataclass(frozen=True)
class Admitted:
    """A request past step 1, and the refresh token whose read is all it needs, if any, or
    whose read and its rotation's one conditional write are (``rotation``)."""

    request: TokenRequest
    policy: Policy
    handler: GrantHandler
    read_ahead: str | None
    rotation: str | None = None


def _seed_unsupported(grant_type: str) -> SigninError:
    return InvalidRequest(f"Unsupported grant type {grant_type[:40]!r}.")


def _oauth_unsupported(grant_type: str) -> SigninError:
    if not grant_type:
        return InvalidRequest("grant_type is missing.")
    return UnsupportedGrantType(f"Unsupported grant_type {grant_type[:40]!r}.")


def _require_proof(client: Client, proof: Proof | None) -> None:
    """A client registered with ``dpop_bound_access_tokens`` gets no unbound token."""
    reg = client.registration
    if proof is None and reg is not None and reg.dpop_bound_access_tokens:
        raise InvalidDpopProof("This client must send a DPoP proof with every token request.")


class TokenEndpoint:
    def __init__(
        self,
        store: TokenStore,
        reads: TokenReads,
        limiter: RateLimiter,
        clock: Clock,
        settings: Settings,
        minter: AccessTokens,
        keys: SigningKeys,
        usage: UsageLog,
        authenticator: ClientAuthenticator,
        dpop: Dpop,
        documents: ClientDocuments | None = None,
    ) -> None:
        self.store = store
        self.reads = reads
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        self.minter = minter
        self.usage = usage
        self.authenticator = authenticator
        self.dpop = dpop
        self.documents = documents
        self.keys = keys
        self.refusals: RefusalLog = AuditRefusals(store, clock)
        answers = Answers(settings, minter, keys, clock)
        self.policies = {
            SEED: Policy(
                SEED, {"refresh_token": REFRESH, "code": CODE}, _seed_unsupported,
                refresh_kind="seed", pkce=False, offline_access=False, rotation=False,
                answer=answers.seed,
            ),
            OAUTH: Policy(
                OAUTH,
                {"authorization_code": CODE, "refresh_token": REFRESH, DEVICE_CODE: DEVICE},
                _oauth_unsupported,
                refresh_kind="oauth", pkce=True, offline_access=True, rotation=True,
                answer=answers.oauth, dpop=True,
            ),
        }  # fmt: skip

    def admit(
        self,
        request: TokenRequest,
        refusals: RefusalLog | None = None,
        limiter: Counter | None = None,
    ) -> Admitted:
        """Step 1: nothing read yet, the address counted once. ``refusals`` and ``limiter``:
        a caller running this where nothing may wait passes its own (``storage/placement.py``)."""
        try:
            policy = self.policies[request.surface]
            handler = policy.grant_types.get(request.grant_type)
            if handler is None:
                raise policy.unsupported(request.grant_type)
            client_id = request.client.client_id
            if request.client.method == APP_SECRET and not APP_ID.fullmatch(client_id):
                raise InvalidClient("The appId is not a valid application ID.")
            count_or_refuse(
                limiter or self.limiter, self.settings.token_limit_per_ip, "token-ip", request.ip
            )
        except SigninError as exc:
            (refusals or self.refusals).record(exc, request)
            raise
        return Admitted(
            request,
            policy,
            handler,
            handler.read_ahead(request, policy),
            handler.rotation(request, policy),
        )

    def handle(
        self,
        admitted: Admitted,
        ahead: Ahead | None = None,
        refusals: RefusalLog | None = None,
        limiter: Counter | None = None,
        handed: TokenTx | None = None,
        at: datetime | None = None,
    ) -> Issued:
        """Steps 2 to 5. ``ahead``: the refresh token's read, already done. ``handed``: a unit
        of work that answers every read the request makes from what its caller read ahead
        and keeps its write for the caller (``storage/handed.py``). ``at``: the request's time,
        when it is run again after such a unit's write found the token changed."""
        request, policy, handler = admitted.request, admitted.policy, admitted.handler
        try:
            proof = self._prove(admitted)
            self._check_document(request)
            if handler.flush_usage_first:
                self.usage.flush()
            self.minter.ready()
            now = at or self.clock.now()
            unit: AbstractContextManager[TokenTx]
            if handed is not None:
                unit = nullcontext(handed)
            elif handler.writes(policy):
                unit = self.store.transaction()
            else:
                unit = self.store.reading()
            with unit as tx:
                step = Step(
                    request, policy, tx, self.reads, now,
                    self.settings, self.minter, self.usage, handler.params, proof,
                )  # fmt: skip
                found = handler.look_up(step, ahead)
                joined = found.app if found is not None else None
                client = self.authenticator.client(tx, request.client, now, joined)
                if policy.dpop:
                    _require_proof(client, proof)
                verified = handler.verify(step, client, found)
                outcome: Issued | Refused
                if isinstance(verified, Refused):
                    outcome = verified
                else:
                    count_or_refuse(
                        limiter or self.limiter,
                        self.settings.token_limit_per_app,
                        "token-app",
                        client.id,
                    )
                    outcome = handler.issue(step, client, verified)
            if isinstance(outcome, Refused):
                raise outcome.error
        except SigninError as exc:
            (refusals or self.refusals).record(exc, request)
            raise
        self.usage.exchanged(client.id, now)  # the console's usage chart
        return outcome

    def _prove(self, admitted: Admitted) -> Proof | None:
        """The DPoP step (RFC 9449 section 5): a proof of this request, with this server's
        nonce (section 8: proofs made in advance are worthless), used once. Before any
        unit of work: its jti is a write of its own."""
        request = admitted.request
        if not admitted.policy.dpop or request.dpop is None:
            return None
        return self.dpop.verify(request.dpop, "POST", request.htu, nonce_required=True)

    def names_document(self, request: TokenRequest) -> bool:
        """A standard-surface client named by its metadata document's URL."""
        return (
            self.documents is not None
            and request.surface == OAUTH
            and self.documents.names_document(request.client.client_id)
        )

    def _check_document(self, request: TokenRequest) -> None:
        """A client named by its metadata document: the document still usable (kept, or
        fetched again once its time is up), before any unit of work opens, so no
        transaction waits on the network. Unusable: ``invalid_client``."""
        if not self.names_document(request) or self.documents is None:
            return
        try:
            self.documents.check(request.client.client_id, request.ip)
        except DocumentRefused as exc:
            raise refused_client(exc) from None

    def exchange(self, request: TokenRequest) -> Issued:
        """Both steps in the caller's thread: the command line, the tests, a worker thread."""
        return self.handle(self.admit(request))
