"""The authorize pipeline's ordered checks against an in-memory fake of its ports
(``authorize_fakes.py``), without a database or HTTP: the order of the steps, the consent
rule that every surface shares, and how the popup's and the standard surface's adapters
answer the same outcomes in their own words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from authorize_fakes import AuthorizeMemoryStore, AuthorizeMemoryTx, RecordingSurface

from leadexec_signin.core import audit, credentials
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.authorize_code import AuthorizeCode, SendBack, ShowLogin
from leadexec_signin.core.actions.authorize_pipeline import AuthorizePipeline
from leadexec_signin.core.actions.authorize_step import (
    ConsentNeeded,
    Delivered,
    LoginNeeded,
    Refused,
)
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.signin import SignIn
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.apps import APPROVED, Application, Button
from leadexec_signin.core.authorize import AuthorizeRequest
from leadexec_signin.core.clock import FrozenClock
from leadexec_signin.core.errors import (
    AccessDenied,
    ImmediateFailed,
    InvalidRequest,
    UnauthorizedClient,
)
from leadexec_signin.core.factors import Passkey
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.oauth_authorize import OAuthRequest
from leadexec_signin.core.sessions import Session
from leadexec_signin.settings import Settings

APP, USER = "app_" + "A" * 22, "usr_" + "U" * 22
BUTTON = "btn_" + "B" * 22
ORIGIN, REDIRECT = "https://partner.example", "https://partner.example/cb"
IP = "192.0.2.7"
PROFILE_EMAIL = frozenset({"profile", "email"})


class World:
    def __init__(self, *, require_mfa: bool = False) -> None:
        self.clock = FrozenClock()
        self.tx = AuthorizeMemoryTx()
        self.store = AuthorizeMemoryStore(self.tx)
        self.settings = Settings(issuer="https://id.test")
        self.app = Application(
            id=APP, name="Partner", owner_id=None, status=APPROVED,
            scopes=frozenset({"profile", "email", "account"}), origins=(ORIGIN,),
            redirect_uris=(REDIRECT,), require_mfa=require_mfa,
        )  # fmt: skip
        self.tx.apps[APP] = self.app
        self.tx.buttons[BUTTON] = Button(BUTTON, APP, PROFILE_EMAIL)
        self.tx.users[USER] = User(USER, "ann@example.com", "Ann", "x")
        keys = SigningKeys(self.store, self.clock)  # type: ignore[arg-type]
        usage = UsageLog(self.store, self.clock)  # type: ignore[arg-type]
        self.pipeline = AuthorizePipeline(self.store, self.clock, self.settings, keys, usage)  # type: ignore[arg-type]
        minter = AccessTokens(self.store, self.clock)  # type: ignore[arg-type]
        self.signin = SignIn(self.pipeline, self.settings, minter)
        self.oauth = AuthorizeCode(self.pipeline, self.settings)

    def session(self, *, age: timedelta = timedelta(0), amr: tuple[str, ...] = ("pwd",)) -> str:
        raw = credentials.new_token(credentials.SESSION)
        now = self.clock.now()
        self.tx.sessions[credentials.token_hash(raw)] = Session(
            credentials.token_hash(raw), USER, now - age, now, now + timedelta(days=1), amr=amr
        )
        return raw

    def grant(self, scopes: frozenset[str]) -> Grant:
        now = self.clock.now()
        grant = Grant("grt_" + "G" * 22, USER, APP, scopes, now, now)
        self.tx.grants[grant.id] = grant
        return grant

    def surface(
        self, scopes: frozenset[str] = PROFILE_EMAIL, **options: object
    ) -> RecordingSurface:
        return RecordingSurface(self.app, scopes, dict(options))

    def run(self, surface: RecordingSurface, session: str | None, **kw: str):  # type: ignore[no-untyped-def]
        return self.pipeline.run(surface, session, IP, **kw)


# -- the steps, in order ---------------------------------------------------------------------


def test_a_refusal_before_the_target_is_known_is_raised_not_answered() -> None:
    w = World()
    surface = w.surface()
    surface.refuse["locate"] = InvalidRequest("unknown client_id")
    with pytest.raises(InvalidRequest):
        w.run(surface, w.session())
    assert surface.steps == ["locate"]


def test_a_refusal_of_the_surfaces_parameters_is_an_answer_to_where_answers_go() -> None:
    w = World()
    surface = w.surface()
    surface.refuse["admit"] = InvalidRequest("bad prompt")
    out = w.run(surface, w.session())
    assert isinstance(out, Refused) and out.target == "where answers go"
    assert out.error.code == "invalid_request" and surface.steps == ["locate", "admit"]


def test_without_a_session_the_user_signs_in_and_nothing_else_is_asked() -> None:
    w = World()
    surface = w.surface(login_hint="ann@example.com")
    out = w.run(surface, None)
    assert isinstance(out, LoginNeeded) and not out.fresh and out.login_hint == "ann@example.com"
    assert surface.steps == ["locate", "admit"] and w.tx.grants == {}


def test_a_new_sign_in_is_asked_for_before_the_user_is_checked() -> None:
    w = World()
    surface = w.surface(prompts=frozenset({"login"}))
    surface.refuse["check_user"] = UnauthorizedClient("pending")
    out = w.run(surface, w.session())
    # Another account may sign in: the application's refusal waits for the new session.
    assert isinstance(out, LoginNeeded) and out.fresh and "check_user" not in surface.steps


def test_the_user_is_checked_before_any_consent_is_asked_or_recorded() -> None:
    w = World()
    surface = w.surface()
    surface.refuse["check_user"] = UnauthorizedClient("pending")
    out = w.run(surface, w.session(), decision="cancel")
    assert isinstance(out, Refused) and out.error.code == "unauthorized_client"
    assert w.tx.events == [] and surface.steps[-1] == "check_user"


def test_one_request_is_one_unit_of_work() -> None:
    w = World()
    w.grant(PROFILE_EMAIL)
    out = w.run(w.surface(), w.session())
    assert isinstance(out, Delivered) and w.tx.units == ["write"]
    assert w.run(w.surface(), w.session()) is not None and w.tx.units == ["write", "write"]


# -- a new sign-in --------------------------------------------------------------------------


def test_max_age_asks_an_old_session_to_sign_in_again_until_it_comes_back() -> None:
    w = World()
    old = w.session(age=timedelta(hours=2))
    out = w.run(w.surface(max_age=60), old)
    assert isinstance(out, LoginNeeded) and out.fresh and out.login_hint == "ann@example.com"
    w.grant(PROFILE_EMAIL)
    back = str(int((w.clock.now() - timedelta(hours=3)).timestamp()))
    assert isinstance(w.run(w.surface(max_age=60, auth_after=back), old), Delivered)


def test_prompt_login_is_relaxed_only_by_a_session_begun_after_it() -> None:
    w = World()
    w.grant(PROFILE_EMAIL)
    session = w.session(age=timedelta(minutes=5))
    before = str(int(w.clock.now().timestamp()))
    out = w.run(w.surface(prompts=frozenset({"login"}), auth_after=before), session)
    assert isinstance(out, LoginNeeded)
    fresh = w.session()
    assert isinstance(
        w.run(w.surface(prompts=frozenset({"login"}), auth_after=before), fresh), Delivered
    )


def test_an_id_token_hint_not_ours_is_refused() -> None:
    w = World()
    out = w.run(w.surface(id_token_hint="not.a.jwt"), w.session())
    assert isinstance(out, Refused) and out.error.code == "invalid_request"


def test_an_application_that_requires_two_steps_asks_for_the_second_or_to_add_one() -> None:
    w = World(require_mfa=True)
    out = w.run(w.surface(), w.session())
    assert isinstance(out, LoginNeeded) and out.step == "mfa" and out.enrol
    now = w.clock.now()
    w.tx.passkeys[USER] = [Passkey("pk", USER, "cred", "key", "Phone", 0, True, True, now)]
    out = w.run(w.surface(), w.session())
    assert isinstance(out, LoginNeeded) and out.step == "mfa" and not out.enrol


def test_back_from_signing_in_still_without_a_second_factor_is_refused_never_issued() -> None:
    w = World(require_mfa=True)
    w.grant(PROFILE_EMAIL)
    before = str(int(w.clock.now().timestamp()))
    out = w.run(w.surface(auth_after=before), w.session())
    assert isinstance(out, Refused) and isinstance(out.error, AccessDenied)
    assert w.tx.codes == {}


def test_an_essential_acr_steps_a_password_session_up() -> None:
    w = World()
    w.grant(PROFILE_EMAIL)
    claims = '{"id_token": {"acr": {"essential": true, "values": ["urn:leadexec:acr:mfa"]}}}'
    out = w.run(w.surface(claims=claims), w.session())
    assert isinstance(out, LoginNeeded) and out.step == "mfa"
    out = w.run(w.surface(claims=claims), w.session(amr=("hwk", "user", "mfa")))
    assert isinstance(out, Delivered)


# -- the consent rule -----------------------------------------------------------------------


def test_a_first_visit_asks_for_everything_and_allow_makes_the_grant() -> None:
    w = World()
    session = w.session()
    out = w.run(w.surface(), session)
    assert isinstance(out, ConsentNeeded) and out.ask == PROFILE_EMAIL and out.had == frozenset()
    assert out.shown == "profile email"
    out = w.run(w.surface(), session, decision="allow", shown="profile email")
    assert isinstance(out, Delivered) and out.result.endswith("email profile")
    assert w.tx.kinds() == [audit.CONSENT]


def test_a_dialog_that_showed_something_else_is_asked_again() -> None:
    w = World()
    out = w.run(w.surface(), w.session(), decision="allow", shown="profile")
    assert isinstance(out, ConsentNeeded) and w.tx.grants == {} and w.tx.events == []


def test_a_returning_user_is_asked_only_for_what_is_new_and_told_what_they_gave() -> None:
    w = World()
    w.grant(frozenset({"profile"}))
    out = w.run(w.surface(PROFILE_EMAIL | {"account"}), w.session())
    assert isinstance(out, ConsentNeeded)
    assert out.ask == {"email", "account"} and out.had == {"profile"}


def test_a_grant_that_covers_the_request_asks_nothing_and_records_no_consent() -> None:
    w = World()
    w.grant(PROFILE_EMAIL | {"account"})
    out = w.run(w.surface(), w.session())
    assert isinstance(out, Delivered) and w.tx.events == []


def test_prompt_consent_asks_for_everything_even_when_granted() -> None:
    w = World()
    w.grant(PROFILE_EMAIL)
    out = w.run(w.surface(prompts=frozenset({"consent"})), w.session())
    assert isinstance(out, ConsentNeeded) and out.ask == PROFILE_EMAIL


def test_a_first_visit_that_wants_no_data_asks_only_who_you_are() -> None:
    w = World()
    out = w.run(w.surface(frozenset()), w.session())
    assert isinstance(out, ConsentNeeded) and out.ask == frozenset() and out.shown == "openid"


def test_what_the_surfaces_own_dialog_disclosed_needs_no_dialog_of_ours() -> None:
    w = World()
    out = w.run(w.surface(disclosed=PROFILE_EMAIL), w.session())
    assert isinstance(out, Delivered) and w.tx.kinds() == [audit.CONSENT]
    w2 = World()
    out = w2.run(w2.surface(PROFILE_EMAIL | {"account"}, disclosed=PROFILE_EMAIL), w2.session())
    assert isinstance(out, ConsentNeeded) and out.ask == PROFILE_EMAIL | {"account"}


def test_cancel_is_recorded_and_refused_after_the_commit() -> None:
    w = World()
    out = w.run(w.surface(), w.session(), decision="cancel")
    assert isinstance(out, Refused) and isinstance(out.error, AccessDenied)
    assert w.tx.kinds() == [audit.CONSENT_DENIED] and w.tx.grants == {}


def test_two_allows_at_once_finish_on_the_grant_the_other_made() -> None:
    w = World()
    w.tx.conflicts = 1
    out = w.run(w.surface(), w.session(), decision="allow", shown="profile email")
    assert isinstance(out, Delivered) and w.tx.units == ["write", "write"]
    assert len(w.tx.grants) == 1 and w.tx.kinds() == [audit.CONSENT]


# -- the surfaces answer the same outcomes in their own words --------------------------------


def test_the_standard_surface_sends_prompt_none_answers_back_to_the_client() -> None:
    w = World()
    base = dict(client_id=APP, redirect_uri=REDIRECT, response_type="code", scope="openid profile",
                state="s1", code_challenge="E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                code_challenge_method="S256", prompt="none")  # fmt: skip
    out = w.oauth.run(OAuthRequest(**base), None, IP)
    assert isinstance(out, SendBack) and out.params["error"] == "login_required"
    assert out.params["state"] == "s1" and out.params["iss"] == "https://id.test"
    out = w.oauth.run(OAuthRequest(**base), w.session(), IP)
    assert isinstance(out, SendBack) and out.params["error"] == "consent_required"
    out = w.oauth.run(OAuthRequest(**{**base, "prompt": ""}), None, IP)
    assert isinstance(out, ShowLogin)
    w.grant(frozenset({"profile"}))
    out = w.oauth.run(OAuthRequest(**base), w.session(), IP)
    assert isinstance(out, SendBack) and set(out.params) == {"code", "state", "iss"}
    (code,) = w.tx.codes.values()
    assert code.redirect_uri == REDIRECT and code.scopes == {"openid", "profile"}


def test_the_silent_check_answers_every_needed_prompt_with_immediate_failed() -> None:
    w = World()
    req = AuthorizeRequest(BUTTON, ORIGIN, "s", immediate=True)
    with pytest.raises(ImmediateFailed):
        w.signin.silent(req, None, IP)
    with pytest.raises(ImmediateFailed):
        w.signin.silent(req, w.session(), IP)  # consent needed
    with pytest.raises(ImmediateFailed, match="origin_not_allowed"):
        w.signin.silent(AuthorizeRequest(BUTTON, "https://evil.example", "s", True), None, IP)
    assert w.tx.grants == {} and w.tx.events == []
