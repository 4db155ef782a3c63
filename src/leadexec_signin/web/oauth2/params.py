"""Reading the OAuth endpoints' parameters: each at most once (RFC 6749 section 3.1), bounded
in length, from the query or an ``application/x-www-form-urlencoded`` body (RFC 6749 section
3.2 names no other body for the token endpoint)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request

from leadexec_signin.core.errors import InvalidClient, InvalidRequest, InvalidTarget

MAX_FIELDS = 40
# JWTs (client assertions, id_token_hint) are longer than any other value.
LONG = frozenset({"client_assertion", "id_token_hint", "logout_hint"})
MAX_VALUE, MAX_LONG = 2048, 8192


def collect(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The values and the names sent more than once (left for the caller to refuse, since
    where the refusal goes depends on which parameter it was)."""
    found: dict[str, str] = {}
    twice: list[str] = []
    for name, value in pairs:
        if len(value) > (MAX_LONG if name in LONG else MAX_VALUE):
            raise InvalidRequest(f"The parameter {name[:40]} is too long.")
        if name in found:
            twice.append(name)
        found[name] = value
    return found, tuple(dict.fromkeys(twice))


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if kind != "application/x-www-form-urlencoded":
        if not body and not kind:
            return []
        raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded.")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The form body could not be parsed.") from None


async def read_form(request: Request) -> dict[str, str]:
    """A POST endpoint's parameters; any of them twice is an error."""
    found, twice = collect(await form_pairs(request))
    if "resource" in twice:
        # RFC 8707 allows several; a token here has one audience (``core/resources.py``).
        raise InvalidTarget("Name one resource per request; ask again for another.")
    if twice:
        raise InvalidRequest(f"The parameter {twice[0][:40]} was sent more than once.")
    if request.url.query:
        # Credentials belong in the body (RFC 6749 section 2.3.1), where logs do not see them.
        raise InvalidRequest("Send the parameters in the request body, not the query string.")
    return found


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """RFC 6749 section 2.3.1: both halves are form-url-encoded before base64."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("Client authentication uses the Basic scheme.")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("The Basic credentials could not be decoded.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClient("The Basic credentials must be client_id:client_secret.")
    return unquote_plus(client_id), unquote_plus(secret)
