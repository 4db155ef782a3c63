"""One error family for every refusal the core can make.

Each error carries the machine code, the HTTP status, a description that is safe to show the
client, and a debug detail that only goes to logs (fosite ``errors.go``). Surfaces render them
in their own shape in ``web/renderers.py`` (and each surface's own).
"""

from __future__ import annotations


class SigninError(Exception):
    code: str = "server_error"
    status: int = 500
    description: str = "The server could not complete the request."

    def __init__(
        self,
        description: str | None = None,
        *,
        debug: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.description = description or type(self).description
        self.debug = debug
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        super().__init__(self.description)


class ServerError(SigninError):
    pass


class InvalidRequest(SigninError):
    code = "invalid_request"
    status = 400
    description = "The request is missing a parameter or has a malformed one."


class InvalidClient(SigninError):
    code = "invalid_client"
    status = 401
    description = "The application could not be authenticated."


class InvalidGrant(SigninError):
    code = "invalid_grant"
    status = 400
    description = "The refresh token is not valid or has been revoked."


class RateLimited(SigninError):
    code = "rate_limited"
    status = 429
    description = "Too many requests. Try again later."


class TemporarilyUnavailable(SigninError):
    code = "temporarily_unavailable"
    status = 503
    description = "The service is temporarily unavailable. Try again shortly."


class SchemaMissing(SigninError):
    """A configured database that was never migrated, or whose schema is not the one this
    version needs: said at start, not at the first query."""

    code = "schema_missing"
    status = 503
    description = "The database has no schema yet: run leadexec-signin migrate."


class InvalidToken(SigninError):
    code = "invalid_token"
    status = 401
    description = "The access token is missing, expired or revoked."


class InvalidDpopToken(InvalidToken):
    """An access token refused for what DPoP requires (RFC 9449 section 7.1): a bound token
    sent as Bearer, or a proof of another key than the one the token is bound to. The
    resource's challenge is then ``DPoP``, not ``Bearer``."""

    description = "This access token is bound to a DPoP key: send it with a proof of that key."


class InvalidDpopProof(SigninError):
    """RFC 9449 sections 5 and 7.1: the DPoP proof is missing where it is required, or fails a
    check. 400 at the token endpoint; a resource answers 401 with a DPoP challenge."""

    code = "invalid_dpop_proof"
    status = 400
    description = "The DPoP proof is missing or not valid."


class UseDpopNonce(SigninError):
    """RFC 9449 section 8: the proof must carry the server's nonce, sent in ``DPoP-Nonce``."""

    code = "use_dpop_nonce"
    status = 400
    description = "The DPoP proof must carry the nonce this server gave in DPoP-Nonce."

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description)
        self.nonce = ""  # filled in by whoever can make one (core/actions/dpop.py)


class InsufficientScope(SigninError):
    code = "insufficient_scope"
    status = 403
    description = "The access token does not carry the scope this call needs."

    def __init__(self, scope: str, description: str | None = None) -> None:
        # The missing scope is public (RFC 6750 section 3 puts it in WWW-Authenticate);
        # ``debug`` never leaves the server.
        super().__init__(description)
        self.scope = scope


class AccessDenied(SigninError):
    code = "access_denied"
    status = 403
    description = "The user denied access to the account."


class InvalidButton(SigninError):
    code = "invalid_button"
    status = 400
    description = "This sign-in button is not registered."


class UnknownButton(InvalidButton):
    """The button configuration the SDK fetches: an address that names nothing is a 404."""

    status = 404


class OriginNotAllowed(SigninError):
    code = "origin_not_allowed"
    status = 400
    description = "This page's origin is not registered for the application."


class AppNotApproved(SigninError):
    code = "app_not_approved"
    status = 403
    description = "The application is not approved to sign users in."


class ImmediateFailed(SigninError):
    code = "immediate_failed"
    # Still a result page that posts to the partner; the status tells proxies and logs it
    # was a refusal, not a sign-in.
    status = 403
    description = "The user must sign in or consent first."


class InvalidCredentials(SigninError):
    code = "invalid_credentials"
    status = 400
    description = "The email or password is not correct."


class EmailNotVerified(SigninError):
    """The password was right but the address was never confirmed: said only to someone who
    knows the password, so it reveals nothing to a stranger."""

    code = "email_not_verified"
    status = 403
    description = (
        "Confirm your email address first: follow the link we sent to it. No email? Sign up "
        "again with the same address and we will send a new link."
    )


class AccountDisabled(SigninError):
    """An operator disabled the account: said after the password (or passkey) was right, so a
    stranger learns nothing from it."""

    code = "account_disabled"
    status = 403
    description = "This account is disabled. Ask your LeadExec administrator to enable it again."


class InvalidLink(SigninError):
    """A verification, reset or email-change link that is unknown, spent or expired: one
    answer for all three, so a link says nothing about the account it was for."""

    code = "invalid_link"
    status = 400
    description = (
        "This link does not work: it was already used, has expired, or was copied "
        "incompletely. Ask for a new one."
    )


class NotFound(SigninError):
    code = "not_found"
    status = 404
    description = "Not found."


class Conflict(SigninError):
    code = "conflict"
    status = 409
    description = "That already exists."


class MethodNotAllowed(SigninError):
    code = "method_not_allowed"
    status = 405
    description = "This address does not accept that method."


class LoginRequired(SigninError):
    """A page that needs a signed-in person: pages render it as a redirect to the sign-in
    form that comes back to ``next_url``, never as an error text."""

    code = "login_required"
    status = 401
    description = "Sign in to continue."

    def __init__(self, next_url: str, *, to: str = "/account/login", step: str = "") -> None:
        super().__init__()
        self.next_url = next_url
        # Where to go first (the sign-in form, or the security page to enrol a second
        # factor), and why (``step=mfa``: a second factor is needed, core/factors.py).
        self.to = to
        self.step = step


# -- the standard OAuth 2.1 / OpenID Connect surface's own codes (RFC 6749 sections 4.1.2.1
# and 5.2, OpenID Connect Core section 3.1.2.6) ----------------------------------------------


class InvalidScope(SigninError):
    code = "invalid_scope"
    status = 400
    description = "The requested scope is unknown or not allowed for this client."


class InvalidClientMetadata(SigninError):
    # RFC 7591 section 3.2.2: a registration whose metadata we refuse (or its RFC 7592 update).
    code = "invalid_client_metadata"
    status = 400
    description = "The client metadata is not valid."


class InvalidRedirectUri(SigninError):
    # RFC 7591 section 3.2.2: a redirect URI a self-registered client may not have.
    code = "invalid_redirect_uri"
    status = 400
    description = "A redirect URI is not valid for a self-registered client."


class InvalidTarget(SigninError):
    # RFC 8707 section 2: a resource that is not one of ours, or not for this authorization.
    code = "invalid_target"
    status = 400
    description = "The resource is unknown or not one this request may name."


class UnsupportedResponseType(SigninError):
    code = "unsupported_response_type"
    status = 400
    description = "Only response_type=code is supported."


class UnsupportedGrantType(SigninError):
    code = "unsupported_grant_type"
    status = 400
    description = "The grant type is not supported."


class UnauthorizedClient(SigninError):
    code = "unauthorized_client"
    status = 400
    description = "This client may not use this grant or request."


class ConsentRequired(SigninError):
    code = "consent_required"
    status = 400
    description = "The user must consent first (prompt=none was requested)."


class InteractionRequired(SigninError):
    code = "interaction_required"
    status = 400
    description = "The user must interact with LeadExec first (prompt=none was requested)."


class RequestNotSupported(SigninError):
    code = "request_not_supported"
    status = 400
    description = "Request objects are not supported."


class InvalidRequestUri(SigninError):
    # OpenID Connect Core section 3.1.2.6; RFC 9126 section 4.
    code = "invalid_request_uri"
    status = 400
    description = (
        "The request_uri is unknown, has expired, was already used or belongs to another client."
    )


class RequestUriNotSupported(SigninError):
    code = "request_uri_not_supported"
    status = 400
    description = "request_uri is not supported."
