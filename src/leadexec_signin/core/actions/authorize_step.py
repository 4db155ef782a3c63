"""The vocabulary of the one authorize pipeline (``authorize_pipeline.py``): the neutral
request each surface admits its own request into, the port a surface is to the pipeline, and
the outcomes it answers with (node-oidc-provider's ``lib/actions/authorization``, fosite's
``AuthorizeRequester``). The token pipeline's counterpart is ``token_step.py``.

A surface (the popup, the silent check, FedCM, ``/oauth2/authorize``) differs from another in
three things only: how it finds where answers go and checks its own parameters (``locate``,
``admit``), which refusal it gives a user its application may not serve (``check_user``), and
what it hands over at the end (``deliver``: an authorization object, a code). Everything
between, the session, a new sign-in, the consent rule and the grant, is the pipeline's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.issue import IssueTx
from leadexec_signin.core.actions.sessions import SessionsTx
from leadexec_signin.core.apps import Application
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.ports import Apps, Factors
from leadexec_signin.core.pushed_requests import PushedRequests
from leadexec_signin.core.scopes import ordered
from leadexec_signin.core.self_registered import AppUse
from leadexec_signin.core.sessions import Session


class AuthorizeTx(Apps, SessionsTx, IssueTx, Factors, PushedRequests, AppUse, Protocol):
    pass


T = TypeVar("T")  # where a surface's answers go (the popup's request, a client's target)
C = TypeVar("C")  # a surface's checked request
R = TypeVar("R")  # what a surface delivers
T_co = TypeVar("T_co", covariant=True)
R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True)
class Admitted(Generic[C]):
    """A request past its surface's own checks, in the pipeline's terms. A surface that has
    no such parameter leaves it empty (the popup has no ``max_age``)."""

    context: C
    app: Application
    scopes: frozenset[str]  # the data scopes wanted
    prompts: frozenset[str] = frozenset()  # none, login, consent, select_account
    max_age: int | None = None
    id_token_hint: str = ""
    sub: str = ""  # the one account the request accepts (the claims parameter's sub value)
    login_hint: str = ""
    acr_values: str = ""
    claims: str = ""
    # "Signed in again after this time" (``le_auth_after`` on the way back from sign-in).
    auth_after: str = ""
    # What the surface's own dialog already showed and the user accepted (FedCM's
    # disclosure): consent to it needs no dialog of ours.
    disclosed: frozenset[str] = frozenset()
    via: str = ""  # the consent's audit detail names the surface, when it has a name

    @property
    def silent(self) -> bool:
        return "none" in self.prompts


class AuthorizeSurface(Protocol[T, C, R_co]):
    def locate(self, tx: AuthorizeTx) -> T:
        """Where answers go; a refusal here is shown by the surface, never sent on."""
        ...

    def admit(self, tx: AuthorizeTx, target: T) -> Admitted[C]:
        """The surface's own parameters; a refusal here is a :class:`Refused` outcome."""
        ...

    def check_user(self, admitted: Admitted[C], user: User) -> None: ...

    def deliver(
        self,
        tx: AuthorizeTx,
        admitted: Admitted[C],
        session: Session,
        user: User,
        grant: Grant,
        now: datetime,
        ip: str,
    ) -> R_co: ...


@dataclass(frozen=True)
class LoginNeeded(Generic[C]):
    """Sign in (again): ``fresh`` when a session exists but the request wants a new sign-in;
    ``step`` "mfa" with a second factor; ``enrol`` when the application requires one and the
    user has none yet (add one first)."""

    admitted: Admitted[C]
    fresh: bool
    login_hint: str = ""
    step: str = ""
    enrol: bool = False


@dataclass(frozen=True)
class ConsentNeeded(Generic[C]):
    admitted: Admitted[C]
    user: User
    ask: frozenset[str]  # the data scopes to ask for now; empty: only "who you are"
    had: frozenset[str]  # what the user already granted of those wanted
    shown: str  # echoed by the dialog, so a change in between asks again


@dataclass(frozen=True)
class Delivered(Generic[R_co]):
    result: R_co


@dataclass(frozen=True)
class Refused(Generic[T_co]):
    """A refusal after the target is known: each surface answers it its own way (a result
    page, an error sent back to the client, the silent check's ``immediate_failed``)."""

    target: T_co
    error: SigninError


def shown_scopes(scopes: frozenset[str]) -> str:
    """How the dialog echoes what it showed, so a change in between asks again."""
    return " ".join(ordered(scopes))
