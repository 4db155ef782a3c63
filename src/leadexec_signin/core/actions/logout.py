"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): a client sends the user here
to sign out of LeadExec, and may name where to come back to.

The return address must be one the client registered (exact match), and the client is known
from ``client_id`` or from the ``id_token_hint`` we issued; otherwise nobody is redirected
anywhere (an open redirector otherwise). Signing out queues a back-channel logout notice
(OpenID Connect Back-Channel Logout 1.0) to every application this browser session signed
into that registered a back-channel logout URI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from leadexec_signin.core import audit, jwts
from leadexec_signin.core.actions.keys import SigningKeys
from leadexec_signin.core.actions.revocation import logout_notice
from leadexec_signin.core.actions.sessions import SessionsTx, public_sid, signed_in
from leadexec_signin.core.apps import Application
from leadexec_signin.core.client_documents import lookup_client
from leadexec_signin.core.clock import Clock
from leadexec_signin.core.errors import InvalidRequest
from leadexec_signin.core.ports import Apps, Notices, Store
from leadexec_signin.settings import Settings


class SessionApps(Protocol):
    def apps_of_session(self, sid: str) -> list[str]:
        """The applications that got a code or refresh token from this session (``sid``)."""
        ...


class LogoutTx(Apps, SessionsTx, Notices, SessionApps, Protocol):
    pass


@dataclass(frozen=True)
class LogoutRequest:
    id_token_hint: str = ""
    client_id: str = ""
    post_logout_redirect_uri: str = ""
    state: str = ""


@dataclass(frozen=True)
class LogoutPlan:
    app: Application | None
    return_to: str | None  # the registered URI with ``state``, or None: our own page
    signed_in: bool


class Logout:
    def __init__(
        self, store: Store[LogoutTx], clock: Clock, settings: Settings, keys: SigningKeys
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.keys = keys

    def plan(self, req: LogoutRequest, session: str | None) -> LogoutPlan:
        """What a sign-out would do; refusals are shown to the user (never redirected)."""
        if len(req.state) > 512:
            raise InvalidRequest("state is too long.")
        client_id = req.client_id
        if req.id_token_hint:
            claims = jwts.read_own(
                req.id_token_hint,
                self.keys.published(),
                issuer=self.settings.issuer,
                verify_exp=False,
            )
            if claims is None:
                raise InvalidRequest("id_token_hint is not an ID token LeadExec issued.")
            aud = claims.get("aud")
            hinted = aud if isinstance(aud, str) else ""
            if client_id and client_id != hinted:
                raise InvalidRequest("client_id does not match the id_token_hint.")
            client_id = hinted
        with self.store.transaction() as tx:
            # The ID token's aud is the client's own client_id (a metadata document's URL for
            # such a client): found the way every endpoint finds a client.
            app = (
                lookup_client(tx, client_id, documents=self.settings.metadata_documents)
                if client_id
                else None
            )
            if client_id and app is None:
                raise InvalidRequest("Unknown client_id.")
            found = signed_in(tx, session, self.clock.now(), self.settings)
        return_to = None
        if req.post_logout_redirect_uri:
            if app is None:
                raise InvalidRequest(
                    "post_logout_redirect_uri needs client_id or id_token_hint to say whose it is."
                )
            if req.post_logout_redirect_uri not in app.post_logout_redirect_uris:
                raise InvalidRequest(
                    "This post_logout_redirect_uri is not registered for the application."
                )
            return_to = req.post_logout_redirect_uri
            if req.state:
                joiner = "&" if "?" in return_to else "?"
                return_to += joiner + urlencode({"state": req.state})
        return LogoutPlan(app, return_to, found is not None)

    def sign_out(self, session: str | None, ip: str) -> None:
        """End the browser session and tell the applications it signed into."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            found = signed_in(tx, session, now, self.settings)
            if found is None:
                return
            row, user = found
            sid = public_sid(row)
            for app_id in tx.apps_of_session(sid):
                app = tx.app_by_id(app_id)
                if app is not None and app.backchannel_logout_uri:
                    tx.add_notice(logout_notice(app, user.id, sid, now), now)
            tx.delete_session(row.id_hash)
            audit.record(tx, now, audit.SIGNOUT, user_id=user.id, ip=ip, detail={"via": "oidc"})
