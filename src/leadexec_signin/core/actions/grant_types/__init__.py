"""One module per grant type the token endpoint accepts; ``token.GRANT_TYPES`` lists them.

Each is a function of an :class:`Exchange` (the checked input, the open transaction and the
endpoint's two hooks) to :class:`Issued` or :class:`Refused`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from leadexec_signin.core.actions.access import AccessTokens
from leadexec_signin.core.actions.issue import IssueTx
from leadexec_signin.core.actions.usage import UsageLog
from leadexec_signin.core.apps import AppCredentials
from leadexec_signin.core.errors import SigninError
from leadexec_signin.core.ports import Apps, Audit, Notices
from leadexec_signin.core.tokens import IssuedTokens
from leadexec_signin.settings import Settings


class ExchangeTx(Apps, IssueTx, Audit, Notices, Protocol):
    pass


@dataclass(frozen=True)
class Exchange:
    """What one grant type needs from the endpoint: the checked input and its tools."""

    tx: ExchangeTx
    app_id: str
    credential: str  # the refresh token or the code
    now: datetime
    settings: Settings
    minter: AccessTokens
    usage: UsageLog
    authenticate: Callable[[AppCredentials | None], AppCredentials]
    count_for_app: Callable[[AppCredentials], None]


@dataclass(frozen=True)
class Issued:
    tokens: IssuedTokens
    event: str  # the audit event, or "" when the exchange is not one
    user_id: str


@dataclass(frozen=True)
class Refused:
    """A refusal whose own writes must stay (a replayed code revokes its grant): raised after
    the transaction commits instead of inside it."""

    error: SigninError


Handler = Callable[[Exchange], Issued | Refused]
