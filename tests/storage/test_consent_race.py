"""Two Allows at once for the same user and application (two tabs, a double click): both
finish, on one grant. On PostgreSQL the second insert of the grant meets the unique index of
live grants; the sign-in then runs once more and finds the grant the first one made."""

from __future__ import annotations

import threading

from leadexec_signin.compose import Services
from leadexec_signin.core.actions.signin import ConsentNeeded, Done, shown_scopes
from leadexec_signin.core.authorize import AuthorizeRequest
from seed_token import exchange_refresh_token
from support.signin import PARTNER
from support.world import World


def two_allows_at_once(
    services: Services, req: AuthorizeRequest, session: str, shown: str
) -> list[object]:
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def allow() -> None:
        start.wait()
        try:
            outcomes.append(
                services.signin.popup(req, session, "10.0.0.1", decision="allow", shown=shown)
            )
        except Exception as exc:  # recorded, so the assertion names it
            outcomes.append(exc)

    tabs = [threading.Thread(target=allow) for _ in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(30)
    return outcomes


def test_two_allows_at_once_both_finish_on_one_grant(services: Services, world: World) -> None:
    with services.storage.transaction() as tx:
        user = tx.user_by_id(world.user_id)
    assert user is not None
    for round_ in range(8):
        app_id, _ = world.app(name=f"Raced {round_}")
        req = AuthorizeRequest(world.button("profile,email", app_id), PARTNER, "s", False)
        session = services.sessions.start(user)
        asked = services.signin.popup(req, session, "10.0.0.1")
        assert isinstance(asked, ConsentNeeded)
        outcomes = two_allows_at_once(services, req, session, shown_scopes(asked.ask))
        assert [type(o).__name__ for o in outcomes] == ["Done", "Done"], outcomes
        live = [g for g in services.accounts.connected_apps(user.id) if g.grant.app_id == app_id]
        assert len(live) == 1
        for done in outcomes:
            assert isinstance(done, Done) and done.authorization.tokens is not None
            refreshed = exchange_refresh_token(
                services, app_id, done.authorization.tokens.refresh_token, None, "10.0.0.2"
            )
            assert refreshed.scopes == frozenset({"profile", "email"})
