"""DPoP on the wire (RFC 9449): reading ``Authorization: DPoP`` and the ``DPoP`` header at the
resources (the LeadExec API, userinfo) and the token endpoint, and the challenge a resource
answers with (section 7.1)."""

from __future__ import annotations

from starlette.requests import Request

from leadexec_signin.core.dpop import ALGS, DpopPresented
from leadexec_signin.core.errors import (
    InvalidDpopProof,
    InvalidDpopToken,
    InvalidToken,
    SigninError,
    UseDpopNonce,
)

ALGS_PARAM = f'algs="{" ".join(ALGS)}"'


def proof_header(request: Request) -> str | None:
    """The one ``DPoP`` header, None when absent; two are refused (section 4.3 step 1)."""
    values = request.headers.getlist("dpop")
    if not values:
        return None
    if len(values) > 1:
        raise InvalidDpopProof("Send one DPoP header, not several.")
    return values[0].strip()


def url_of(request: Request) -> str:
    """The URL a proof must name: the issuer's (the public address, whatever proxy is in
    front) and this request's path, without the query (section 4.3 step 9)."""
    issuer: str = request.app.state.services.settings.issuer
    path: str = request.scope["path"]
    if "?" in path or "#" in path or "\\" in path:
        return issuer + request.url.path  # escaped as Starlette escapes them
    # request.url would build (and parse) the whole URL from the headers: 13 us a request.
    return issuer + path


def resource_token(request: Request) -> tuple[str | None, DpopPresented | None]:
    """The access token of ``Authorization: Bearer`` or ``Authorization: DPoP`` (the proof
    then required); (None, None) when neither."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token = value.strip() or None
    if scheme.lower() == "bearer":
        return token, None
    if scheme.lower() == "dpop":
        proof = proof_header(request)
        if proof is None:
            raise InvalidDpopProof("Authorization: DPoP needs a DPoP proof header.")
        return token, DpopPresented(proof, request.method, url_of(request))
    return None, None


def uses_dpop(request: Request, exc: SigninError) -> bool:
    """Whether a resource's refusal is answered with a DPoP challenge instead of Bearer."""
    if isinstance(exc, InvalidDpopProof | UseDpopNonce | InvalidDpopToken):
        return True
    scheme = request.headers.get("authorization", "").partition(" ")[0]
    return isinstance(exc, InvalidToken) and scheme.lower() == "dpop"


def challenge(exc: SigninError, resource_metadata: str = "") -> tuple[int, dict[str, str]]:
    """Section 7.1: 401 and ``WWW-Authenticate: DPoP algs=..., error=...``; the nonce
    in ``DPoP-Nonce`` when that is what is missing; where the resource's metadata is (RFC
    9728 section 5.1), for a resource that has it."""
    value = f'DPoP {ALGS_PARAM}, error="{exc.code}"'
    if not isinstance(exc, InvalidToken):
        value += ', error_description="' + exc.description.replace('"', "'") + '"'
    if resource_metadata:
        value += f', resource_metadata="{resource_metadata}"'
    headers = {"WWW-Authenticate": value}
    nonce = getattr(exc, "nonce", "")
    if nonce:
        headers["DPoP-Nonce"] = nonce
    return 401, headers
