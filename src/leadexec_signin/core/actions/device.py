"""The device authorization grant's two sides but the polling (RFC 8628): the device asks for
codes (section 3.1), and a signed-in person enters the user code at ``/device`` and allows or
denies (section 3.3). The polling is a grant handler of the token endpoint
(``grant_handlers/device_code.py``).

Throttled: a client and an address may start only so many authorizations, and a person and an
address may enter only so many codes (wrong ones count): guessing a live code by trying is
hopeless (``core/device_codes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from leadexec_signin.core import audit, credentials, device_codes
from leadexec_signin.core.accounts import User
from leadexec_signin.core.actions.client_auth import ClientAuthenticator, ClientAuthTx, Presented
from leadexec_signin.core.actions.issue import IssueTx, widen_grant
from leadexec_signin.core.apps import APPROVED, PENDING, Application
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.device_codes import APPROVED as CODE_APPROVED
from leadexec_signin.core.device_codes import DENIED, DeviceCode, InvalidUserCode
from leadexec_signin.core.errors import AccessDenied, InvalidRequest, UnauthorizedClient
from leadexec_signin.core.factors import missing_second_factor
from leadexec_signin.core.limits import count_or_refuse
from leadexec_signin.core.oauth_authorize import split_scopes
from leadexec_signin.core.ports import Audit, DeviceCodes, RateLimiter, Store
from leadexec_signin.core.resources import check_resource
from leadexec_signin.core.scopes import OFFLINE_ACCESS, OPENID
from leadexec_signin.settings import Settings


class DeviceTx(ClientAuthTx, DeviceCodes, IssueTx, Audit, Protocol):
    pass


@dataclass(frozen=True)
class Started:
    """RFC 8628 section 3.2's answer."""

    device_code: str
    user_code: str  # as shown: BCDF-GHJK
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class Prompt:
    """What the person confirms at /device: which application, for what, and the code."""

    app: Application
    scopes: frozenset[str]
    user_code: str  # as shown


def check_device_scope(raw: str, app: Application) -> frozenset[str]:
    """Scopes the application may ask for; none asked means all of its data scopes."""
    asked = frozenset(raw.split()) if raw else app.scopes
    data, protocol = split_scopes(asked, app)
    return data | protocol


class DeviceFlow:
    def __init__(
        self,
        store: Store[DeviceTx],
        limiter: RateLimiter,
        clock: Clock,
        settings: Settings,
        authenticator: ClientAuthenticator,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.settings = settings
        self.authenticator = authenticator

    def start(self, offered: Presented, scope: str, ip: str, resource: str = "") -> Started:
        """RFC 8628 section 3.1: a client allowed the grant gets a device code and a user code;
        ``resource`` (RFC 8707) names what its tokens are for, kept with the device code."""
        count_or_refuse(self.limiter, self.settings.device_limit_per_ip, "device-ip", ip)
        if len(scope) > 1000:
            raise InvalidRequest("scope is too long.")
        now = self.clock.now()
        with self.store.transaction() as tx:
            app = self.authenticator.authenticate(tx, offered, now)
            if not app.device_grant:
                raise UnauthorizedClient("This client is not registered for the device flow.")
            if app.status not in (APPROVED, PENDING):  # pending: its owner only, at approval
                raise UnauthorizedClient(f"The application is {app.status}.")
            scopes = check_device_scope(scope, app)
            target = check_resource(self.settings.issuer, resource)
            count_or_refuse(self.limiter, self.settings.device_limit_per_app, "device-app", app.id)
            device_code = credentials.new_token(credentials.DEVICE)
            user_code = device_codes.new_user_code()
            tx.add_device_code(
                DeviceCode(
                    device_code_hash=credentials.token_hash(device_code),
                    user_code_hash=device_codes.user_code_hash(user_code),
                    app_id=app.id,
                    scopes=scopes,
                    created_at=now,
                    expires_at=now + timedelta(seconds=device_codes.LIFETIME_SECONDS),
                    interval=device_codes.INTERVAL_SECONDS,
                    resource=target,
                )
            )
        page = self.settings.issuer + "/device"
        shown = device_codes.shown(user_code)
        return Started(
            device_code, shown, page, f"{page}?user_code={shown}",
            device_codes.LIFETIME_SECONDS, device_codes.INTERVAL_SECONDS,
        )  # fmt: skip

    def _pending(
        self, tx: DeviceTx, typed: str, user: User, ip: str, amr: tuple[str, ...]
    ) -> tuple[DeviceCode, Application]:
        # Every entry counts, right or wrong: that is what makes guessing hopeless.
        count_or_refuse(self.limiter, self.settings.user_code_limit, "user-code-ip", ip)
        count_or_refuse(self.limiter, self.settings.user_code_limit, "user-code-user", user.id)
        normalized = device_codes.normalize(typed)
        found = (
            tx.device_code_by_user_code(device_codes.user_code_hash(normalized))
            if normalized
            else None
        )
        now = self.clock.now()
        if found is None or found.status != device_codes.PENDING or now >= found.expires_at:
            raise InvalidUserCode()
        app = tx.app_by_id(found.app_id)
        if app is None or not app.device_grant or app.status not in (APPROVED, PENDING):
            raise InvalidUserCode()
        if not app.serves(user.id):  # development mode: its owner only
            raise UnauthorizedClient(
                "The application is pending: until it is approved only its owner can sign in."
            )
        if missing_second_factor(app.require_mfa, amr):
            # As /oauth2/authorize refuses: never approved by a password-only session.
            raise AccessDenied(
                "This application requires two-step sign-in. Sign in again with a passkey or "
                "an authenticator app (add one on your LeadExec security page), then enter the "
                "code again."
            )
        return found, app

    def prompt(self, typed: str, user: User, ip: str, amr: tuple[str, ...] = ()) -> Prompt:
        """The code a person typed, checked before they are asked to confirm; ``amr``: how
        their session was signed in (an application may require a second factor)."""
        with self.store.transaction() as tx:
            found, app = self._pending(tx, typed, user, ip, amr)
        normalized = device_codes.normalize(typed)
        assert normalized is not None
        return Prompt(app, found.scopes, device_codes.shown(normalized))

    def decide(
        self,
        typed: str,
        allow: bool,
        user: User,
        ip: str,
        *,
        auth_time: datetime | None,
        sid: str,
        amr: tuple[str, ...] = (),
    ) -> Prompt:
        """Allow (the grant widened, as consent does) or deny; once per code."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            found, app = self._pending(tx, typed, user, ip, amr)
            status = CODE_APPROVED if allow else DENIED
            if not tx.decide_device_code(
                found.user_code_hash, status, now, user_id=user.id, auth_time=auth_time, sid=sid
            ):
                raise InvalidUserCode()
            if allow:
                data = found.scopes - {OPENID, OFFLINE_ACCESS}
                grant = tx.active_grant(user.id, app.id)
                widen_grant(tx, grant, user.id, app.id, data, now)
            event = audit.CONSENT if allow else audit.CONSENT_DENIED
            audit.record(
                tx, now, event, user_id=user.id, app_id=app.id, ip=ip, detail={"via": "device"}
            )
        normalized = device_codes.normalize(typed)
        assert normalized is not None
        return Prompt(app, found.scopes, device_codes.shown(normalized))
