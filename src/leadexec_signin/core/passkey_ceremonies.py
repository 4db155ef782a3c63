"""The relying party's side of WebAuthn Level 3 (sections 7.1 and 7.2) over py_webauthn:
options for ``navigator.credentials.create/get`` and the checks of the answers.

py_webauthn verifies the client data (type, challenge, origin), the RP ID hash, the user
presence and verification flags and the signature; what is ours is listed here: which
challenge (single-use, bound to the browser that asked), which credential, and the counter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from leadexec_signin.core.errors import InvalidCredentials, InvalidRequest
from leadexec_signin.core.factors import Passkey
from leadexec_signin.i18n import N_

# An authenticator's answer is about 1 KB (attestation "none"); anything much larger is not
# one, and is refused before it is parsed or stored.
MAX_RESPONSE = 8192
TIMEOUT_MS = 300_000  # the browser's own prompt lasts as long as the challenge


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def challenge_hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def new_challenge() -> bytes:
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origin: str
    name: str = "LeadExec"

    def registration_options(
        self, challenge: bytes, user_id: str, email: str, name: str, existing: list[Passkey]
    ) -> str:
        """Discoverable (resident key required), attestation none, user verification
        required: the passkey alone must be able to sign in."""
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.name,
            user_id=user_id.encode(),
            user_name=email,
            user_display_name=name,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=unb64url(p.credential_id)) for p in existing
            ],
        )
        return options_to_json(options)

    def authentication_options(self, challenge: bytes, allow: list[Passkey]) -> str:
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=unb64url(p.credential_id)) for p in allow
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return options_to_json(options)


def _client_challenge(client_data_json: bytes) -> bytes:
    try:
        client_data = json.loads(client_data_json)
        return unb64url(client_data["challenge"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequest(N_("That is not an authenticator's answer.")) from exc


def parse_registration(raw: object) -> tuple[RegistrationCredential, bytes]:
    """The credential and the challenge it answers; a 10 KB answer is a 400, not stored."""
    text = _sized(raw)
    try:
        credential = parse_registration_credential_json(text)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise InvalidRequest(N_("That is not an authenticator's answer.")) from exc
    return credential, _client_challenge(credential.response.client_data_json)


def parse_assertion(raw: object) -> tuple[AuthenticationCredential, bytes]:
    text = _sized(raw)
    try:
        credential = parse_authentication_credential_json(text)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise InvalidRequest(N_("That is not an authenticator's answer.")) from exc
    return credential, _client_challenge(credential.response.client_data_json)


def _sized(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise InvalidRequest(N_("The authenticator's answer is missing."))
    if len(raw) > MAX_RESPONSE:
        raise InvalidRequest(N_("The authenticator's answer is too large."), status=413)
    return raw


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: str
    sign_count: int
    backup_eligible: bool
    backed_up: bool
    aaguid: str
    transports: str


def verify_new(
    rp: RelyingParty, credential: RegistrationCredential, challenge: bytes
) -> NewCredential:
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise InvalidCredentials(
            N_("The passkey could not be added. Try again."), debug=str(exc)[:200]
        ) from exc
    transports = credential.response.transports or []
    return NewCredential(
        credential_id=b64url(verified.credential_id),
        public_key=b64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        backup_eligible=verified.credential_device_type == "multi_device",
        backed_up=verified.credential_backed_up,
        aaguid=str(verified.aaguid),
        transports=",".join(str(getattr(t, "value", t)) for t in transports)[:200],
    )


@dataclass(frozen=True)
class Assertion:
    sign_count: int
    backed_up: bool
    user_verified: bool


def verify_assertion(
    rp: RelyingParty,
    credential: AuthenticationCredential,
    challenge: bytes,
    passkey: Passkey,
    *,
    require_uv: bool,
) -> Assertion:
    """The signature, origin, RP ID and flags; the counter is compared by the caller, after
    the signature is known good, so only a genuine regression is audited."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=unb64url(passkey.public_key),
            credential_current_sign_count=0,
            require_user_verification=require_uv,
        )
    except WebAuthnException as exc:
        raise InvalidCredentials(
            N_("The passkey could not be checked. Try again."), debug=str(exc)[:200]
        ) from exc
    return Assertion(verified.new_sign_count, verified.credential_backed_up, verified.user_verified)


def counter_went_back(stored: int, new: int) -> bool:
    """WebAuthn Level 3 section 7.2 step 22: a counter that does not grow (when either is
    non-zero; synced passkeys always say 0) may mean a cloned authenticator."""
    return (stored > 0 or new > 0) and new <= stored
