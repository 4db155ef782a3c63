"""The device code grant (RFC 8628 section 3.4): the device polls with its device code until
the person at /device approved or denied it (section 3.5): ``authorization_pending``,
``slow_down`` when it polls faster than its interval (which then grows by 5 seconds),
``access_denied``, ``expired_token``; once approved, tokens are issued a single time.

Like the authorization code grant, the tokens are answered by the surface's policy (an ID
token with ``openid``, a refresh token with ``offline_access``, DPoP-bound with a proof).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from leadexec_signin.core import credentials, device_codes
from leadexec_signin.core.actions.client_auth import Client
from leadexec_signin.core.actions.issue import add_refresh_token
from leadexec_signin.core.actions.token_step import (
    Ahead,
    Issued,
    Policy,
    Refused,
    Signin,
    Step,
    TokenRequest,
)
from leadexec_signin.core.device_codes import (
    AuthorizationPending,
    DeviceAccessDenied,
    DeviceCode,
    ExpiredToken,
    SlowDown,
)
from leadexec_signin.core.errors import InvalidGrant, InvalidRequest, UnauthorizedClient
from leadexec_signin.core.grants import Grant
from leadexec_signin.core.scopes import OFFLINE_ACCESS
from leadexec_signin.core.tokens import RefreshGrant

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5


@dataclass(frozen=True)
class Verified:
    code: DeviceCode
    grant: Grant
    resource: str | None = None  # RFC 8707: what the tokens are for


class DeviceCodeGrant:
    params = frozenset({"device_code", "resource"})
    flush_usage_first = True  # a new refresh token is followed by the per-grant cap

    def writes(self, policy: Policy) -> bool:
        return True

    def read_ahead(self, request: TokenRequest, policy: Policy) -> str | None:
        return None

    def rotation(self, request: TokenRequest, policy: Policy) -> str | None:
        return None

    def look_up(self, step: Step, ahead: Ahead | None) -> RefreshGrant | None:
        return None

    def verify(self, step: Step, client: Client, found: RefreshGrant | None) -> object:
        tx, now = step.tx, step.now
        raw = step.param("device_code")
        if not raw:
            raise InvalidRequest("device_code is missing.")
        if not credentials.looks_like(raw, credentials.DEVICE):
            raise InvalidGrant("The device code is not valid.")
        code = tx.device_code(credentials.token_hash(raw))
        # Another client's device code is refused like a made-up one.
        if code is None or not credentials.same(code.app_id, client.id):
            raise InvalidGrant("The device code is not valid.")
        reg = client.registration
        if reg is None or not reg.device_grant:
            raise UnauthorizedClient("This client is not registered for the device flow.")
        # RFC 8707: the resource the device asked for, which a poll may repeat, not change.
        resource = step.resource(code.resource)
        if code.status == device_codes.DONE or now >= code.expires_at:
            raise ExpiredToken()
        # Each poll is remembered; one sooner than the interval slows the device down. The
        # write stays even though the answer is a refusal (returned, not raised).
        too_soon = code.polled_at is not None and now - code.polled_at < timedelta(
            seconds=code.interval
        )
        interval = code.interval + SLOW_DOWN_STEP if too_soon else code.interval
        tx.poll_device_code(code.device_code_hash, now, interval)
        if too_soon:
            return Refused(SlowDown())
        if code.status == device_codes.PENDING:
            return Refused(AuthorizationPending())
        if code.status == device_codes.DENIED:
            return Refused(DeviceAccessDenied())
        assert code.user_id is not None
        grant = tx.active_grant(code.user_id, code.app_id)
        if grant is None or not client.serves(code.user_id):  # removed meanwhile
            return Refused(DeviceAccessDenied())
        if not tx.finish_device_code(code.device_code_hash):  # another poll took it
            raise ExpiredToken()
        return Verified(replace(code, interval=interval), grant, resource)

    def issue(self, step: Step, client: Client, verified: object) -> Issued | Refused:
        assert isinstance(verified, Verified)
        code, grant, policy = verified.code, verified.grant, step.policy
        refresh = None
        if OFFLINE_ACCESS in code.scopes:
            refresh = add_refresh_token(
                step.tx, grant, step.now, step.settings,
                scopes=code.scopes, kind=policy.refresh_kind,
                auth_time=code.auth_time, sid=code.sid, dpop_jkt=step.refresh_binding(client),
                resource=verified.resource,
            )  # fmt: skip
        signin = Signin(code.auth_time, code.sid)
        return policy.answer(step, client, grant, code.scopes, signin, refresh, verified.resource)
