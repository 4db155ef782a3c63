"""The token endpoint's steps and grant handlers against an in-memory fake of their ports
(``token_fakes.py``): the order of the steps, the policies that are all that differs between
the two surfaces, and each handler's refusals, without a database or HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from token_fakes import MemoryReads, MemoryStore, MemoryTx

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.client_auth import (
    APP_SECRET,
    ClientAuthenticator,
    Presented,
)
from leadexec_signin.core.actions.dpop import Dpop, StoredReplays
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.token_endpoint import OAUTH, SEED, TokenEndpoint
from leadexec_signin.core.actions.token_step import Ahead, TokenRequest
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.apps import APPROVED, Application
from leadexec_signin.core.clients import CLIENT_SECRET_POST, CONFIDENTIAL, s256_challenge
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    RateLimited,
    UnsupportedGrantType,
)
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.tokens import AuthorizationCode, RefreshToken
from leadexec_signin.settings import Settings
from leadexec_signin.storage.ratelimit import LimitsRateLimiter

APP, USER, GRANT = "app_" + "A" * 22, "usr_" + "U" * 22, "grt_" + "G" * 22
SECRET = "lesk_" + "s" * 43
IP = "192.0.2.7"


class World:
    def __init__(self, *, limit_per_app: str = "100/minute", rotate: bool = False) -> None:
        self.clock = FrozenClock()
        now = self.clock.now()
        self.tx = MemoryTx()
        self.store = MemoryStore(self.tx)
        self.reads = MemoryReads(self.tx)
        settings = Settings(token_limit_per_app=limit_per_app, refresh_grace_seconds=0)
        self.tx.apps[APP] = Application(
            id=APP, name="Partner", owner_id=None, status=APPROVED,
            scopes=frozenset({"profile"}), origins=("https://partner.example",),
            secret_hash=credentials.token_hash(SECRET), client_type=CONFIDENTIAL,
            auth_method=CLIENT_SECRET_POST, rotate_refresh_tokens=rotate,
        )  # fmt: skip
        self.tx.users[USER] = User(USER, "ann@example.com", "Ann", "x")
        self.tx.grants[GRANT] = Grant(GRANT, USER, APP, frozenset({"profile"}), now, now)
        minter = AccessTokens(self.store, self.clock)
        self.endpoint = TokenEndpoint(
            self.store, self.reads, LimitsRateLimiter("memory://"), self.clock, settings,
            minter, SigningKeys(self.store, self.clock),
            UsageLog(self.store, self.clock), ClientAuthenticator(_NoJwks(), "https://id.test"),
            Dpop(StoredReplays(self.store), minter, self.clock),
        )  # fmt: skip

    def refresh_token(self, kind: str = "seed") -> str:
        raw = credentials.new_token(credentials.REFRESH)
        token = RefreshToken(
            credentials.token_hash(raw), GRANT, APP, self.clock.now(), kind=kind,
            scopes=frozenset({"profile"}) if kind == "oauth" else None,
        )  # fmt: skip
        self.tx.add_refresh_token(token)
        return raw

    def code(self, *, challenge: str = "") -> str:
        raw = credentials.new_token(credentials.CODE)
        self.tx.codes[credentials.token_hash(raw)] = AuthorizationCode(
            credentials.token_hash(raw), GRANT, APP, self.clock.now() + timedelta(minutes=1),
            redirect_uri="https://partner.example/cb" if challenge else "",
            code_challenge=challenge, code_challenge_method="S256" if challenge else "",
        )  # fmt: skip
        return raw


class _NoJwks:
    def jwks(self, uri: str, *, refresh: bool = False) -> None:
        return None


def seed(grant_type: str, params: dict[str, str], secret: str = SECRET) -> TokenRequest:
    return TokenRequest(SEED, grant_type, params, Presented(APP, APP_SECRET, secret=secret), IP)


def oauth(params: dict[str, str], secret: str = SECRET) -> TokenRequest:
    client = Presented(APP, CLIENT_SECRET_POST, secret=secret)
    return TokenRequest(OAUTH, params.get("grant_type", ""), params, client, IP)


# -- the steps, in order ---------------------------------------------------------------------


def test_the_client_is_authenticated_before_the_grant_is_looked_at() -> None:
    w = World()
    with pytest.raises(InvalidClient):  # a malformed token and a wrong secret: the client
        w.endpoint.exchange(seed("refresh_token", {"refresh_token": "garbage"}, "lesk_wrong"))
    with pytest.raises(InvalidGrant):  # the right secret: then the token
        w.endpoint.exchange(seed("refresh_token", {"refresh_token": "garbage"}))


def test_an_unknown_grant_type_is_refused_in_each_surfaces_words() -> None:
    w = World()
    with pytest.raises(InvalidRequest):
        w.endpoint.exchange(seed("password", {}))
    with pytest.raises(UnsupportedGrantType):
        w.endpoint.exchange(oauth({"grant_type": "password"}))
    with pytest.raises(InvalidRequest, match="grant_type is missing"):
        w.endpoint.exchange(oauth({}))


def test_the_applications_limit_counts_only_requests_whose_grant_was_verified() -> None:
    w = World(limit_per_app="2/minute")
    for _ in range(5):  # strangers' garbage uses none of the partner's budget
        with pytest.raises(InvalidGrant):
            w.endpoint.exchange(seed("refresh_token", {"refresh_token": "ler_" + "x" * 43}))
    raw = w.refresh_token()
    for _ in range(2):
        w.endpoint.exchange(seed("refresh_token", {"refresh_token": raw}))
    with pytest.raises(RateLimited):
        w.endpoint.exchange(seed("refresh_token", {"refresh_token": raw}))


def test_a_caller_that_passes_its_own_counter_gets_every_count_of_the_request() -> None:
    """The event loop's caller (``storage/placement.py``) counts in Redis without blocking:
    a count that reached the endpoint's own (synchronous) limiter would stall the loop."""
    w = World()
    raw = w.refresh_token()
    counted: list[tuple[str, ...]] = []

    class Kept:
        def hit(self, limit: str, *key: str) -> int | None:
            counted.append((limit, *key))
            return None

    class Forbidden:
        def hit(self, limit: str, *key: str) -> int | None:
            raise AssertionError(f"{limit} counted by the endpoint's own limiter")

    w.endpoint.limiter = Forbidden()  # type: ignore[assignment]
    request = seed("refresh_token", {"refresh_token": raw})
    admitted = w.endpoint.admit(request, None, Kept())
    w.endpoint.handle(admitted, None, None, Kept())
    assert [c[1] for c in counted] == ["token-ip", "token-app"]


def test_every_refusal_is_recorded_once_at_the_last_step() -> None:
    w = World()
    kept: list[str] = []

    class Log:
        def record(self, exc, request):  # type: ignore[no-untyped-def]
            kept.append(exc.code)

    with pytest.raises(InvalidGrant):
        w.endpoint.handle(
            w.endpoint.admit(seed("refresh_token", {"refresh_token": "garbage"}), Log()),
            refusals=Log(),
        )
    assert kept == ["invalid_grant"]


def test_a_handler_reads_only_the_parameters_it_declares() -> None:
    w = World()
    raw = w.refresh_token()
    admitted = w.endpoint.admit(seed("refresh_token", {"refresh_token": raw}))
    assert admitted.handler.params == {"refresh_token", "scope", "resource"}
    with w.store.reading() as tx:
        from leadexec_signin.core.actions.token_step import Step

        step = Step(
            admitted.request, admitted.policy, tx, w.reads, w.clock.now(),
            w.endpoint.settings, w.endpoint.minter, w.endpoint.usage, admitted.handler.params,
        )  # fmt: skip
        assert step.param("refresh_token") == raw
        with pytest.raises(LookupError):
            step.param("code_verifier")


# -- refresh_token: rotation as policy ---------------------------------------------------------


def test_the_sign_in_apis_refresh_echoes_its_token_and_writes_nothing() -> None:
    w = World()
    raw = w.refresh_token()
    issued = w.endpoint.exchange(seed("refresh_token", {"refresh_token": raw}))
    assert issued.refresh_token == raw and issued.scopes == {"profile"}
    assert issued.access_token.startswith("lea_")
    assert w.tx.units[-1] == "read" and w.reads.reads == 1 and w.tx.events == []


def test_a_refresh_read_ahead_is_not_read_again() -> None:
    w = World()
    raw = w.refresh_token()
    admitted = w.endpoint.admit(seed("refresh_token", {"refresh_token": raw}))
    assert admitted.read_ahead == credentials.token_hash(raw)
    found = w.tx.refresh_grant(credentials.token_hash(raw))
    w.endpoint.handle(admitted, Ahead(found))
    assert w.reads.reads == 0


def test_each_surface_refuses_the_others_refresh_tokens() -> None:
    w = World()
    with pytest.raises(InvalidGrant):
        w.endpoint.exchange(seed("refresh_token", {"refresh_token": w.refresh_token("oauth")}))
    with pytest.raises(InvalidGrant):
        w.endpoint.exchange(
            oauth({"grant_type": "refresh_token", "refresh_token": w.refresh_token()})
        )


def test_a_rotating_clients_refresh_answers_a_successor_and_a_reuse_ends_the_grant() -> None:
    w = World(rotate=True)
    raw = w.refresh_token("oauth")
    first = w.endpoint.exchange(oauth({"grant_type": "refresh_token", "refresh_token": raw}))
    assert first.refresh_token and first.refresh_token != raw
    assert w.tx.units[-1] == "write"
    w.clock.advance(seconds=5)  # past the grace (0 s here)
    with pytest.raises(InvalidGrant):
        w.endpoint.exchange(oauth({"grant_type": "refresh_token", "refresh_token": raw}))
    assert not w.tx.grants[GRANT].active
    assert audit.REFRESH_REUSED in w.tx.kinds() and audit.GRANT_REVOKED in w.tx.kinds()


def test_without_rotation_the_standard_refresh_echoes_its_token() -> None:
    w = World(rotate=False)
    raw = w.refresh_token("oauth")
    issued = w.endpoint.exchange(oauth({"grant_type": "refresh_token", "refresh_token": raw}))
    assert issued.refresh_token == raw


# -- authorization_code: PKCE as policy ----------------------------------------------------------


def test_hardened_deliverys_code_buys_tokens_once_and_a_replay_ends_the_grant() -> None:
    w = World()
    raw = w.code()
    issued = w.endpoint.exchange(seed("code", {"code": raw}))
    assert issued.refresh_token and issued.access_token
    with pytest.raises(InvalidGrant):
        w.endpoint.exchange(seed("code", {"code": raw}))
    assert not w.tx.grants[GRANT].active
    revoked = [e for e in w.tx.events if e.event == audit.GRANT_REVOKED]
    assert [e.ip for e in revoked] == [IP]  # the request's address, on both surfaces


def test_an_oauth_code_needs_its_verifier_and_redirect_uri() -> None:
    w = World()
    verifier = "v" * 64
    raw = w.code(challenge=s256_challenge(verifier))
    base = {"grant_type": "authorization_code", "code": raw}
    with pytest.raises(InvalidRequest, match="redirect_uri"):
        w.endpoint.exchange(oauth(base))
    with pytest.raises(InvalidRequest, match="code_verifier"):
        w.endpoint.exchange(oauth({**base, "redirect_uri": "https://partner.example/cb"}))


def test_each_surface_refuses_the_others_codes() -> None:
    w = World()
    with pytest.raises(InvalidGrant):
        w.endpoint.exchange(seed("code", {"code": w.code(challenge=s256_challenge("v" * 64))}))
    plain = w.code()
    request = {"grant_type": "authorization_code", "code": plain,
               "redirect_uri": "https://partner.example/cb", "code_verifier": "v" * 64}  # fmt: skip
    with pytest.raises(InvalidGrant):
        w.endpoint.exchange(oauth(request))


def test_hardened_delivery_needs_an_application_with_a_secret() -> None:
    w = World()
    w.tx.apps[APP] = replace(w.tx.apps[APP], secret_hash=None, auth_method="", client_type="")
    with pytest.raises(InvalidClient, match="secret"):
        w.endpoint.exchange(seed("code", {"code": w.code()}, secret=""))
