"""Second factors and how a sign-in was proven: passkeys (WebAuthn), the authenticator app
(RFC 6238), recovery codes, and the ``amr`` (RFC 8176) and ``acr`` values derived from them.

A session records the methods that signed it in; tokens and ID tokens repeat them, so a partner
can tell a password from a passkey without asking us again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from leadexec_signin import i18n
from leadexec_signin.core.mail import Mailer, compose
from leadexec_signin.i18n import N_

if TYPE_CHECKING:
    from leadexec_signin.core.accounts import User

# RFC 8176 section 2: the values we emit.
PWD = "pwd"  # a password
HWK = "hwk"  # a passkey bound to one device (not backup-eligible)
SWK = "swk"  # a passkey that syncs (backup-eligible): a software-held key
OTP = "otp"  # the authenticator app's code, or a recovery code
USER = "user"  # the authenticator verified the user (PIN or biometrics)
MFA = "mfa"  # more than one factor
# The one order every answer lists them in (ID tokens, userinfo, introspection), so the
# same sign-in reads the same wherever a partner looks (access tokens keep them as bits).
AMR_ORDER = (PWD, HWK, SWK, OTP, USER, MFA)

# acr values (OpenID Connect Core 2): one factor, or more than one. Discovery lists both.
ACR_SINGLE = "urn:leadexec:acr:1fa"
ACR_MFA = "urn:leadexec:acr:mfa"
ACR_VALUES = (ACR_SINGLE, ACR_MFA)

# Adding or removing a factor asks for a proof newer than this (re-authentication).
REAUTH_WINDOW = timedelta(minutes=5)
# A WebAuthn challenge works once, for the browser that asked, within this time.
CHALLENGE_TTL = timedelta(minutes=5)

# What a challenge is for: adding a passkey, signing in with one, or re-authenticating.
REGISTER = "register"
SIGNIN = "signin"
CONFIRM = "confirm"


@dataclass(frozen=True)
class Passkey:
    id: str
    user_id: str
    credential_id: str  # base64url
    public_key: str  # base64url of the COSE key
    name: str
    sign_count: int
    backup_eligible: bool
    backed_up: bool
    created_at: datetime
    transports: str = ""
    aaguid: str = ""
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class TotpSecret:
    user_id: str
    secret: str  # base32, as the app holds it
    created_at: datetime
    confirmed_at: datetime | None = None
    last_step: int = 0  # the last 30-second step a code was accepted for


@dataclass(frozen=True)
class Challenge:
    challenge_hash: str
    binding: str
    purpose: str
    user_id: str | None
    expires_at: datetime


def passkey_amr(passkey: Passkey, user_verified: bool) -> tuple[str, ...]:
    """A passkey with user verification is two factors in one gesture (possession and PIN or
    biometrics): RFC 8176 ``hwk``/``swk`` + ``user`` + ``mfa``."""
    key = SWK if passkey.backup_eligible else HWK
    return (key, USER, MFA) if user_verified else (key,)


def combined(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    """The methods of a password followed by a second step: both, and ``mfa``."""
    seen = [m for m in (*first, *second) if m != MFA]
    return (*dict.fromkeys(seen), MFA)


def in_order(amr: tuple[str, ...]) -> tuple[str, ...]:
    """``amr`` in :data:`AMR_ORDER` (values of no known method are not told)."""
    return tuple(m for m in AMR_ORDER if m in amr)


def acr_of(amr: tuple[str, ...]) -> str:
    return ACR_MFA if MFA in amr else ACR_SINGLE


def parse_amr(raw: str | None) -> tuple[str, ...]:
    return tuple(raw.split()) if raw else (PWD,)


def is_fresh(authenticated_at: datetime, now: datetime) -> bool:
    return now - authenticated_at < REAUTH_WINDOW


def wants_mfa(acr_values: str, claims: str) -> bool:
    """Whether an authorization request asks for more than one factor: ``acr_values`` naming
    ours first, or the ``claims`` parameter's essential ``acr`` (OpenID Connect Core 5.5.1.1)
    with it among its values."""
    if ACR_MFA in acr_values.split():
        return True
    if not claims or len(claims) > 4096:
        return False
    try:
        acr = json.loads(claims).get("id_token", {}).get("acr", {})
    except (ValueError, AttributeError):
        return False
    if not isinstance(acr, dict) or not acr.get("essential"):
        return False
    wanted = acr.get("values") or ([acr["value"]] if "value" in acr else [])
    return isinstance(wanted, list) and ACR_MFA in wanted


def missing_second_factor(app_requires: bool, amr: tuple[str, ...]) -> bool:
    """An application that requires two-step sign-in, and a session signed in without it."""
    return app_requires and MFA not in amr


def has_app(secret: TotpSecret | None) -> bool:
    return secret is not None and secret.confirmed_at is not None


def tell(mailer: Mailer | None, user: User | None, template: str, **values: object) -> None:
    """A security notice to the account's own address (after the change is committed)."""
    if mailer is not None and user is not None:
        mailer.send(compose(user.email, template, name=user.name, **values))


def passkey_words(name: str) -> str:
    """A passkey as a notice names it, in the reader's language."""
    return i18n.gettext(N_("A passkey (%(name)s)")) % {"name": name}


def app_words() -> str:
    return i18n.gettext(N_("An authenticator app"))
