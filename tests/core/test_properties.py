"""Property tests of the core (hypothesis, stateful): any interleaving of sign-in with
consent, silent sign-in, refresh-token exchange, revocation by token or by the user, app
suspension and the passing of time keeps the invariants of RFC 6749 section 10.4 and RFC 7009
section 2.1 as this project states them:

- a revoked grant never yields a token again, and no token issued under it works again;
- a token is valid only for its own application (and user);
- an access token works exactly until it expires, and only while its app is approved.

The provider is the real one (SQL storage on each backend, access-token cache included); a
small model beside it says what must happen, and every answer is compared with the model.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from leadexec_signin.compose import Services, build
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.errors import (
    AppNotApproved,
    InvalidClient,
    InvalidGrant,
    InvalidToken,
    NotFound,
)
from leadexec_signin.settings import Settings
from seed_token import exchange_refresh_token
from support.world import allow, silently

# Hypothesis drives whole providers through many interleavings: out of the fast tier.
pytestmark = pytest.mark.slow

ORIGIN = "http://127.0.0.1:9000"
IP = "192.0.2.1"
_serial = itertools.count()


@dataclass
class Issued:
    kind: str  # "refresh" or "access"
    value: str
    user: int
    app: int
    generation: int  # which grant of (user, app) it was issued under
    expires_at: datetime | None = None


class GrantMachine(RuleBasedStateMachine):
    services: Services
    clock: FrozenClock

    def __init__(self) -> None:
        super().__init__()
        self.users: list[object] = []
        self.apps: list[str] = []
        self.buttons: list[str] = []
        self.approved: list[bool] = []
        # (user, app) -> generation of the live grant; absent when none is live.
        self.live: dict[tuple[int, int], int] = {}
        self.generations: dict[tuple[int, int], int] = {}
        self.issued: list[Issued] = []

    @initialize()
    def world(self) -> None:
        n = next(_serial)
        for u in range(2):
            self.users.append(
                self.services.accounts.create_user(
                    email=f"p{n}u{u}@example.com", name=f"User {u}", password="long enough pw"
                )
            )
        for a in range(2):
            app, _ = self.services.registry.register(
                name=f"App {n}/{a}", origins=[ORIGIN], scopes="profile,email"
            )
            self.services.operator.set_app_status(app.id, "approved")
            self.apps.append(app.id)
            self.approved.append(True)
            self.buttons.append(
                self.services.registry.create_button(app_id=app.id, scopes="profile").id
            )

    # -- what the model expects ---------------------------------------------------------

    def alive(self, token: Issued) -> bool:
        return self.live.get((token.user, token.app)) == token.generation

    def request(self, app: int, *, immediate: bool) -> AuthorizeRequest:
        return AuthorizeRequest(self.buttons[app], ORIGIN, "s", immediate)

    def record(self, user: int, app: int, refresh: str, access: str, expires: datetime) -> None:
        generation = self.live[(user, app)]
        if refresh:
            self.issued.append(Issued("refresh", refresh, user, app, generation))
        self.issued.append(Issued("access", access, user, app, generation, expires))

    # -- rules ----------------------------------------------------------------------------

    @rule(user=st.integers(0, 1), app=st.integers(0, 1))
    def consent(self, user: int, app: int) -> None:
        if not self.approved[app]:
            with pytest.raises(AppNotApproved):
                allow(self.services, self.request(app, immediate=False), self.users[user], IP)  # type: ignore[arg-type]
            return
        done = allow(self.services, self.request(app, immediate=False), self.users[user], IP)  # type: ignore[arg-type]
        assert done is not None and done.tokens is not None
        assert done.app_id == self.apps[app]
        if (user, app) not in self.live:
            generation = self.generations.get((user, app), 0) + 1
            self.generations[(user, app)] = generation
            self.live[(user, app)] = generation
        t = done.tokens
        self.record(user, app, t.refresh_token, t.access_token, t.expires_at)

    @rule(user=st.integers(0, 1), app=st.integers(0, 1))
    def silent(self, user: int, app: int) -> None:
        """The silent iframe: tokens only for a live grant, never after a revocation."""
        if not self.approved[app]:
            return
        done = silently(self.services, self.request(app, immediate=True), self.users[user], IP)  # type: ignore[arg-type]
        if (user, app) in self.live:
            assert done is not None and done.tokens is not None
            t = done.tokens
            self.record(user, app, t.refresh_token, t.access_token, t.expires_at)
        else:
            assert done is None, "a revoked or never-made grant yielded a token"

    @precondition(lambda self: self.issued)
    @rule(data=st.data(), with_app=st.integers(0, 1))
    def exchange(self, data: st.DataObject, with_app: int) -> None:
        token = data.draw(st.sampled_from(self.issued))
        works = (
            token.kind == "refresh"
            and token.app == with_app
            and self.alive(token)
            and self.approved[with_app]
        )
        if works:
            got = exchange_refresh_token(self.services, self.apps[with_app], token.value, None, IP)
            assert got.refresh_token == token.value
            self.record(token.user, token.app, "", got.access_token, got.expires_at)
            return
        # The application is authenticated first (RFC 6749 section 5.2): a suspended one is
        # refused whatever the token.
        expected = InvalidClient if not self.approved[with_app] else InvalidGrant
        with pytest.raises(expected):
            exchange_refresh_token(self.services, self.apps[with_app], token.value, None, IP)

    @precondition(lambda self: self.issued)
    @rule(data=st.data())
    def use_access_token(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(self.issued))
        works = (
            token.kind == "access"
            and self.alive(token)
            and self.approved[token.app]
            and token.expires_at is not None
            and self.clock.now() < token.expires_at
        )
        if works:
            access, ctx = self.services.api.check_access_token(token.value)
            # Valid only for its own app and user.
            assert ctx.app.id == self.apps[token.app] and access.app_id == ctx.app.id
            assert ctx.user.id == self.users[token.user].id  # type: ignore[attr-defined]
        else:
            with pytest.raises(InvalidToken):
                self.services.api.check_access_token(token.value)

    @precondition(lambda self: self.issued)
    @rule(data=st.data())
    def revoke(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(self.issued))
        # An expired access token proves nothing any more, not even the right to revoke.
        expired = token.expires_at is not None and self.clock.now() >= token.expires_at
        if self.alive(token) and not expired:
            self.services.revocation.revoke_token(token.value, IP)
            del self.live[(token.user, token.app)]
        else:
            with pytest.raises(InvalidGrant):
                self.services.revocation.revoke_token(token.value, IP)

    @rule(user=st.integers(0, 1), app=st.integers(0, 1))
    def remove_access(self, user: int, app: int) -> None:
        listing = {
            g.grant.app_id: g.grant.id
            for g in self.services.accounts.connected_apps(self.users[user].id)  # type: ignore[attr-defined]
            if g.grant.active
        }
        if (user, app) in self.live:
            self.services.revocation.remove_access(self.users[user], listing[self.apps[app]], IP)  # type: ignore[arg-type]
            del self.live[(user, app)]
        else:
            assert self.apps[app] not in listing
            # Another user's grant is not theirs to remove.
            other = listing.get(self.apps[1 - app])
            if other is not None and (1 - user, 1 - app) in self.live:
                with pytest.raises(NotFound):
                    self.services.revocation.remove_access(self.users[1 - user], other, IP)  # type: ignore[arg-type]

    @rule(app=st.integers(0, 1))
    def toggle_suspension(self, app: int) -> None:
        self.approved[app] = not self.approved[app]
        status = "approved" if self.approved[app] else "suspended"
        self.services.operator.set_app_status(self.apps[app], status)

    @rule(seconds=st.sampled_from([1, 600, 3599, 3600, 7200]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def nothing_under_a_revoked_grant_works(self) -> None:
        for token in self.issued:
            if self.alive(token):
                continue
            if token.kind == "access":
                with pytest.raises(InvalidToken):
                    self.services.api.check_access_token(token.value)
            elif self.approved[token.app]:
                with pytest.raises(InvalidGrant):
                    exchange_refresh_token(
                        self.services, self.apps[token.app], token.value, None, IP
                    )

    @invariant()
    def one_live_grant_per_user_and_app(self) -> None:
        for u, user in enumerate(self.users):
            active = [g for g in self.services.accounts.connected_apps(user.id) if g.grant.active]  # type: ignore[attr-defined]
            assert sorted(g.grant.app_id for g in active) == sorted(
                self.apps[a] for (uu, a) in self.live if uu == u
            )


@pytest.mark.parametrize("cache_ms", [0, 500], ids=["no token cache", "with the token cache"])
def test_any_interleaving_keeps_the_grant_invariants(
    settings: Settings, clock: FrozenClock, cache_ms: int
) -> None:
    relaxed = settings.with_changes(
        token_limit_per_app="1000000/minute",
        token_limit_per_ip="1000000/minute",
        revoke_limit_per_ip="1000000/minute",
        refresh_tokens_per_grant=1000,
        token_cache_ms=cache_ms,
    )
    services = build(relaxed, clock)
    GrantMachine.services = services
    GrantMachine.clock = clock
    try:
        run_state_machine_as_test(
            GrantMachine,
            settings=settings_for_ci(),
        )
    finally:
        services.close()


def settings_for_ci() -> settings:
    return settings(
        max_examples=20,
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
